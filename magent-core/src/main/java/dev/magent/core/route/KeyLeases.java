package dev.magent.core.route;

import dev.magent.core.backend.KeyStripes;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which event loop sends the mutations of a key now: one order per key across loops without a fixed owner.
 * Keys are hashed to stripes; a stripe is leased to one loop while any mutation of its keys is being routed
 * or is in flight to a server, and free once every one has been answered (or failed). A loop that finds the
 * stripe free or its own sends at once; a loop that finds it leased to another hands the mutation to that
 * loop ({@code frontend.KeyOrder}), which sends it behind the ones before, on its own connections. A lease
 * moves only when nothing of the stripe is in flight, so every copy applies a key's mutations in the order
 * they were sent: two clients on two loops writing one key cannot leave its copies different.
 *
 * <p>Shared by every loop: one compare-and-set per mutation entering, one atomic decrement per release,
 * on a stripe of its own (65 536 stripes: two loops rarely want one at the same moment, so hand-offs are
 * rare). Not a lock: nobody waits, a loop that loses the race hands over instead.
 */
public final class KeyLeases {
    /** Per stripe: the leasing loop in the high 32 bits, the mutations routing or in flight in the low 32. */
    private final AtomicLongArray stripes = new AtomicLongArray(KeyStripes.COUNT);

    /**
     * One more mutation of the stripe, wanted by {@code loop}: returns the loop that must send it, {@code loop}
     * itself when the stripe was free or already its own, else the loop holding the lease (which then holds it
     * for this mutation as well, until {@link #release}).
     */
    public int enter(int stripe, int loop) {
        for (;;) {
            long v = stripes.get(stripe);
            int count = (int) v;
            int owner = (int) (v >>> 32);
            int sender = count == 0 ? loop : owner;
            long next = ((long) sender << 32) | (count + 1L);
            if (stripes.compareAndSet(stripe, v, next)) {
                return sender;
            }
        }
    }

    /** A mutation entered with {@link #enter} was answered, failed, or handed on to a send that entered. */
    public void release(int stripe) {
        stripes.decrementAndGet(stripe);
    }

    /** The loop holding the stripe's lease, or -1 when it is free. */
    public int holder(int stripe) {
        long v = stripes.get(stripe);
        return (int) v == 0 ? -1 : (int) (v >>> 32);
    }
}
