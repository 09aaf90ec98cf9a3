package dev.magent.core.frontend;

import dev.magent.core.route.KeyLeases;
import dev.magent.core.route.Router;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * A proxy's routers, the event loops they run on, and the key leases they share ({@link KeyLeases}): which
 * loop sends each key's mutations now. Each loop has its own connections to every server, and memcached
 * applies the commands of different connections in any order, so two writes of one key sent from two loops
 * at once could reach the main in one order and its backup in the other, and the copies would differ for
 * good. A mutation is sent by the loop holding its key's lease; the loop of a client that finds the lease
 * elsewhere hands the mutation over ({@link KeyOrder}). Immutable; shared by every client connection.
 */
public final class KeyOwners {
    private final Router[] routers;
    private final Executor[] loops;
    private final KeyLeases leases;

    /** The routers and the executors they run on (their event loops), in the same order; joins them to {@code leases}. */
    public KeyOwners(List<Router> routers, List<? extends Executor> loops, KeyLeases leases) {
        if (routers.size() != loops.size() || routers.isEmpty()) {
            throw new IllegalArgumentException("one executor per router, at least one router");
        }
        this.routers = routers.toArray(new Router[0]);
        this.loops = loops.toArray(new Executor[0]);
        this.leases = leases;
        for (int i = 0; i < this.routers.length; i++) {
            this.routers[i].joinLeases(leases, i);
        }
    }

    /** How many loops share the keys. */
    public int size() {
        return routers.length;
    }

    public KeyLeases leases() {
        return leases;
    }

    public Router router(int loop) {
        return routers[loop];
    }

    public Executor loop(int loop) {
        return loops[loop];
    }

    /** The index of a router, or -1. */
    public int indexOf(Router router) {
        for (int i = 0; i < routers.length; i++) {
            if (routers[i] == router) {
                return i;
            }
        }
        return -1;
    }
}
