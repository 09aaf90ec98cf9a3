package dev.magent.core.backend;

/**
 * A key's stripe: one of 65,536 slots a key's bytes hash to. The write fences and the key leases keep
 * per-stripe state, so that a key costs no allocation and no map lookup; two keys sharing a stripe only
 * share a fence or a lease, never a value.
 */
public final class KeyStripes {
    /** How many stripes there are: a power of two. */
    public static final int COUNT = 1 << 16;

    private KeyStripes() {
    }

    /** The stripe of a key, in [0, {@link #COUNT}). */
    public static int of(byte[] key) {
        int h = 1;
        for (byte b : key) {
            h = 31 * h + b;
        }
        h ^= h >>> 16; // murmur3's finaliser: the mask keeps the low bits only
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        return h & (COUNT - 1);
    }
}
