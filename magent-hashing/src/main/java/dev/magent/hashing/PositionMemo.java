package dev.magent.hashing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The ketama positions of the keys one thread placed last: a small direct-mapped memo in front of MD5. A
 * proxy places the same key several times within one request (once per pool a write is copied to, again
 * in the backup's ring for a key the main missed, again to repair it) and hot keys across requests; a
 * position depends on the key's bytes alone, never on the ring, so a remembered one is right for every
 * ring, before and after a reload. A hit costs a cheap hash and a compare of the key's bytes instead of an
 * MD5 (about 100 ns for a 32-byte key); nothing is allocated either way.
 *
 * <p>{@value #SLOTS} slots of up to {@value #MAX_KEY} key bytes: about 18 KiB per thread that places keys.
 * Longer keys (memcached allows 250 bytes) are hashed every time. Not thread-safe: one per thread.
 */
final class PositionMemo {
    static final int SLOTS = 256;
    static final int MAX_KEY = 64;
    private static final int SLOT_BITS = Integer.numberOfTrailingZeros(SLOTS);
    private static final long MIX = 0x9E3779B97F4A7C15L; // 2^64 / golden ratio: spreads every input bit upwards
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[] keys = new byte[SLOTS * MAX_KEY];
    private final int[] lengths = new int[SLOTS];
    private final int[] positions = new int[SLOTS];

    PositionMemo() {
        Arrays.fill(lengths, -1); // empty; 0 is a key of no bytes
    }

    /** How a position is computed when it is not remembered: the first 4 bytes of MD5, little-endian. */
    interface Source {
        int position(byte[] key, int offset, int length);
    }

    /** The key's position, remembered or computed by {@code source}. The caller checked the bounds. */
    int position(byte[] key, int offset, int length, Source source) {
        if (length > MAX_KEY) {
            return source.position(key, offset, length);
        }
        int slot = slot(key, offset, length);
        int base = slot * MAX_KEY;
        if (lengths[slot] == length && Arrays.equals(keys, base, base + length, key, offset, offset + length)) {
            return positions[slot];
        }
        int position = source.position(key, offset, length);
        System.arraycopy(key, offset, keys, base, length);
        lengths[slot] = length;
        positions[slot] = position;
        return position;
    }

    /** A multiplicative hash of every byte, 8 at a time; its top bits pick the slot. */
    private static int slot(byte[] key, int offset, int length) {
        long h = length * MIX;
        int i = 0;
        for (; i + Long.BYTES <= length; i += Long.BYTES) {
            h = (h ^ (long) LONGS.get(key, offset + i)) * MIX;
            h ^= h >>> 32;
        }
        for (; i < length; i++) {
            h = (h ^ key[offset + i]) * MIX;
        }
        return (int) ((h * MIX) >>> (Long.SIZE - SLOT_BITS));
    }
}
