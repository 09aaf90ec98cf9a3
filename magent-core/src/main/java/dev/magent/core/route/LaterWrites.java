package dev.magent.core.route;

import dev.magent.core.backend.CommandKeys;
import dev.magent.protocol.Command;
import dev.magent.protocol.FlushAllCommand;
import java.nio.ByteBuffer;
import java.util.HashMap;

/**
 * Counts, for the keys a route is watching, the client mutations this loop routed after the route began.
 * A route that writes a copy only after the replies came (incr/decr's correcting {@code set}, the refill of
 * a main that lost the counter, the {@code set} of a stored cas to the other copies) sends that write
 * after any mutation routed meanwhile, so it would overwrite the newer write on that copy alone. The
 * route's sends hold the key's lease for this loop from the first send to the late one ({@link KeyLeases}),
 * so every mutation of the key meanwhile is routed by this loop and seen here: a route whose key was
 * written meanwhile does not send its late write, and hints the copy instead, which the hint sweep
 * rewrites from a copy in service.
 *
 * <p>One per loop, used on that loop only. Costs nothing while no route watches a key (the common case:
 * incr, decr and cas in flight); otherwise one map lookup per mutation.
 */
final class LaterWrites {
    /** The mutations of one key routed since it is watched, shared by the routes watching it. */
    static final class Watch {
        private final ByteBuffer key;
        private int watchers;
        private long writes;

        private Watch(ByteBuffer key) {
            this.key = key;
        }

        /** Mutations of the key routed so far: a route keeps it to compare with at the end. */
        long writes() {
            return writes;
        }
    }

    private final HashMap<ByteBuffer, Watch> watched = new HashMap<>();

    /** A client mutation routed on this loop (a flush counts for every key). */
    void routed(Command command) {
        if (watched.isEmpty()) {
            return;
        }
        if (command instanceof FlushAllCommand) {
            for (Watch w : watched.values()) {
                w.writes++;
            }
            return;
        }
        byte[] key = CommandKeys.keyOf(command);
        if (key != null) {
            Watch w = watched.get(ByteBuffer.wrap(key));
            if (w != null) {
                w.writes++;
            }
        }
    }

    /** Starts watching a key; every {@code watch} is ended by one {@link #end}. */
    Watch watch(byte[] key) {
        Watch w = watched.computeIfAbsent(ByteBuffer.wrap(key), Watch::new);
        w.watchers++;
        return w;
    }

    /** Ends a watch; whether the key was written since {@code since} (its {@link Watch#writes()} then). */
    boolean end(Watch w, long since) {
        if (--w.watchers == 0) {
            watched.remove(w.key);
        }
        return w.writes != since;
    }

    /** Keys watched now (for tests: every watch ends). */
    int watching() {
        return watched.size();
    }
}
