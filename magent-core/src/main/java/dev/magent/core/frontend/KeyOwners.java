package dev.magent.core.frontend;

import dev.magent.core.route.Router;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Which event loop owns each key: the one whose router sends every mutation of that key. Each loop has its
 * own connections to every server, and memcached applies the commands of different connections in any
 * order, so two writes of one key sent from two loops could reach the main in one order and its backup in
 * the other, and the copies would differ for good. Sent from one loop, on that loop's one connection per
 * server for the key (see {@code BackendPool}), they reach every copy in the same order. Immutable; shared
 * by every client connection.
 */
public final class KeyOwners {
    private final Router[] routers;
    private final Executor[] loops;

    /** The routers and the executors they run on (their event loops), in the same order. */
    public KeyOwners(List<Router> routers, List<? extends Executor> loops) {
        if (routers.size() != loops.size() || routers.isEmpty()) {
            throw new IllegalArgumentException("one executor per router, at least one router");
        }
        this.routers = routers.toArray(new Router[0]);
        this.loops = loops.toArray(new Executor[0]);
    }

    /** How many loops share the keys. */
    public int size() {
        return routers.length;
    }

    /**
     * The owner of a key, by a hash of its bytes. Not the backend pool's own key hash (which picks one of a
     * loop's connections to a server): the same hash would leave some of each loop's connections unused.
     */
    public int owner(byte[] key) {
        int h = 1;
        for (byte b : key) {
            h = 31 * h + b;
        }
        h ^= h >>> 16; // murmur3's finaliser: spreads the low bits the modulo looks at
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        return (h & 0x7FFFFFFF) % routers.length;
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
