package dev.magent.core.recovery;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The keys of writes and deletes one server missed ("hinted handoff"). While a key is in the log, its
 * copy on that server is stale and the router treats the server as down for that key; when the server
 * returns, each hinted key is rewritten there from the other copy and only then leaves the log.
 *
 * <p>Each record carries a version, so that the catch-up removes a key only if no write touched it while
 * it was being copied. Bounded: past the capacity it only remembers that it overflowed, and the server is
 * then flushed and resynced in full. Shared by every event loop.
 */
public final class HintLog {
    private final int capacity;
    private final Map<KeyBytes, Long> keys = new ConcurrentHashMap<>();
    private final AtomicLong versions = new AtomicLong();
    private final AtomicBoolean overflowed = new AtomicBoolean();

    public HintLog(int capacity) {
        this.capacity = capacity;
    }

    /** Records a key the server missed (again). */
    public void record(byte[] key) {
        if (overflowed.get()) {
            return;
        }
        if (keys.size() >= capacity) {
            overflowed.set(true);
            return;
        }
        keys.put(new KeyBytes(key), versions.incrementAndGet());
    }

    /** Whether the server's copy of this key is known to be stale. */
    public boolean contains(byte[] key) {
        return !keys.isEmpty() && keys.containsKey(new KeyBytes(key));
    }

    /** Notes that the server missed something no key list can describe (e.g. a flush_all). */
    public void markOverflowed() {
        overflowed.set(true);
    }

    public int size() {
        return keys.size();
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    public boolean overflowed() {
        return overflowed.get();
    }

    /** Up to {@code limit} hinted keys with their versions, for a catch-up pass. */
    List<Hint> snapshot(int limit) {
        List<Hint> out = new ArrayList<>(Math.min(limit, keys.size()));
        for (Map.Entry<KeyBytes, Long> e : keys.entrySet()) {
            if (out.size() >= limit) {
                break;
            }
            out.add(new Hint(e.getKey().bytes, e.getValue()));
        }
        return out;
    }

    /** Removes a key once its copy is fixed, unless a write recorded it again meanwhile. */
    boolean resolved(Hint hint) {
        return keys.remove(new KeyBytes(hint.key()), hint.version());
    }

    /** Forgets everything, including an overflow (the server was emptied). */
    void clear() {
        overflowed.set(false);
        keys.clear();
    }

    /** A hinted key and the version recorded for it. */
    record Hint(byte[] key, long version) {
    }

    /** byte[] with value equality, for hashing keys. */
    private record KeyBytes(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof KeyBytes k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }
}
