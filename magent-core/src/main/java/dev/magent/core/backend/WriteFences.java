package dev.magent.core.backend;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What a repair or resync copy checks before and after its {@code add}, so that it never overwrites the
 * future (docs/semantics.md, "Repairs never overwrite the future"): a copy reads a key on one server and
 * writes it to another; if a client wrote, deleted or flushed that key after the read, the value read is
 * the past and must not land.
 *
 * <p>Every client write bumps its key's <em>epoch</em>, every flush_all the flush epoch. Epochs are kept
 * per stripe of key hashes, not per key: the hot path bumps one slot of an array (no allocation, no lock;
 * two keys that share a stripe only cancel each other's copies now and then, which costs a later repair,
 * never a wrong value). A flush_all fences every key from the moment it is sent until every server
 * answered it, since a copy's read on another connection may reach a server before the flush does; a
 * delayed {@code flush_all N} also fences the copies whose read and write straddle its deadline. Shared by every event loop and the recovery code; carried over by a reload.
 */
public final class WriteFences {
    /** 65 536 stripes: at 50 000 writes a second a one-millisecond copy meets a stranger's write 0.08 % of the time. */
    /** memcached counts time in whole seconds: a deadline is fuzzy by about a second either way. */
    public static final long DEADLINE_MARGIN_MILLIS = 2000;

    /** memcached reads a time over 30 days as a unix time, not a delay. */
    private static final long MAX_RELATIVE_SECONDS = 60L * 60 * 24 * 30;

    private final AtomicLongArray epochs = new AtomicLongArray(KeyStripes.COUNT);
    private final AtomicLong flushes = new AtomicLong();
    /** flush_alls every server answered (or failed): the others are on their way, perhaps behind a copy's read. */
    private final AtomicLong flushesDone = new AtomicLong();
    /**
     * When the last flush_all sent takes effect if it was delayed (ms since the epoch), 0 if it was
     * immediate: memcached keeps one flush time, so each flush_all replaces the one before.
     */
    private volatile long lastFlushDeadlineMillis;

    /**
     * The state a copy saw when it read its key.
     *
     * @param stripe     the key's stripe
     * @param keyEpoch   the stripe's epoch then
     * @param flushEpoch the flush epoch then
     * @param flushing   whether a flush_all was on its way then (sent, not answered by every server): the
     *                   read may reach its server before the flush does, on another connection
     * @param readMillis when the read was sent
     */
    public record Fence(int stripe, long keyEpoch, long flushEpoch, boolean flushing, long readMillis) {
    }

    /** A client write (of any verb) of this key was issued: copies that read it before are the past. */
    public void written(byte[] key) {
        epochs.incrementAndGet(KeyStripes.of(key));
    }

    /**
     * A client flush_all was issued, with its delay in seconds ({@code FlushAllCommand.NO_DELAY} or 0 for
     * none; memcached reads more than 30 days as a unix time).
     */
    public void flushed(long delaySeconds, long nowMillis) {
        lastFlushDeadlineMillis = delaySeconds > 0 ? deadlineMillis(delaySeconds, nowMillis) : 0;
        flushes.incrementAndGet();
    }

    /** Every server answered a flush_all (or failed it: such a server is flushed before it serves again). */
    public void flushDone() {
        flushesDone.incrementAndGet();
    }

    /** When a flush_all with this delay takes effect. */
    public static long deadlineMillis(long delaySeconds, long nowMillis) {
        if (delaySeconds <= 0) {
            return nowMillis;
        }
        if (delaySeconds > MAX_RELATIVE_SECONDS) {
            return delaySeconds * 1000; // an absolute unix time, as memcached reads it
        }
        return nowMillis + delaySeconds * 1000;
    }

    /** The last flush_all's deadline, if it is still ahead (ms since the epoch), else 0. */
    public long pendingFlushDeadline(long nowMillis) {
        long d = lastFlushDeadlineMillis;
        return d > nowMillis ? d : 0;
    }

    /** Taken just before a copy sends its read. */
    public Fence before(byte[] key, long nowMillis) {
        int s = KeyStripes.of(key);
        long done = flushesDone.get(); // before the issued count: a flush issued in between counts as on its way
        long issued = flushes.get();
        return new Fence(s, epochs.get(s), issued, issued != done, nowMillis);
    }

    /**
     * Whether nothing issued since the fence was taken can make the copy's value the past: no write of the
     * key (or of a key sharing its stripe), no flush_all, and no delayed flush taking effect between the
     * read and now (give or take memcached's one-second clock).
     */
    public boolean holds(Fence f, long nowMillis) {
        if (f.flushing() || epochs.get(f.stripe()) != f.keyEpoch() || flushes.get() != f.flushEpoch()) {
            return false;
        }
        long d = lastFlushDeadlineMillis;
        return d == 0 || d < f.readMillis() - DEADLINE_MARGIN_MILLIS || d > nowMillis + DEADLINE_MARGIN_MILLIS;
    }
}
