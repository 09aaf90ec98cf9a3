package dev.magent.core.backend;

import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * What one event loop owns: its connections to every backend and the channels written since the last
 * flush. Client connections and the backend connections serving them live on the same loop, so requests
 * and replies never cross threads and nothing here needs a lock.
 */
public final class LoopContext implements Backends {
    private final EventLoop loop;
    private BackendPool[] pools;
    private final List<Flushable> dirty = new ArrayList<>();
    private boolean flushScheduled;
    private final Runnable flushTask = this::flushDirty;
    private Feeder feeding;

    public LoopContext(EventLoop loop, BackendPool[] pools) {
        this.loop = loop;
        this.pools = pools;
    }

    public EventLoop loop() {
        return loop;
    }

    /** This loop's pool for a server, by {@link BackendServer#id()}. */
    BackendPool pool(int serverId) {
        return pools[serverId];
    }

    @Override
    public Backend backend(BackendServer server) {
        int id = server.id();
        BackendPool pool = id < pools.length ? pools[id] : null;
        if (pool != null && pool.server() == server) {
            return pool;
        }
        return (command, completion) -> {
            ReferenceCountUtil.release(command);
            completion.accept(null, new BackendException(BackendException.Reason.REMOVED, server.address(),
                    "removed from the configuration by a reload"));
        };
    }

    public BackendPool[] pools() {
        return pools;
    }

    /** Swaps in the pools of a new configuration; returns the old ones. On this loop only. */
    public BackendPool[] replacePools(BackendPool[] next) {
        BackendPool[] old = pools;
        pools = next;
        return old;
    }

    /**
     * A client connection whose requests feed backend connections. A backend connection that has too much
     * waiting holds the feeder that sends it more: the feeder stops reading until every connection holding it
     * has let go. That is TCP's own backpressure carried through the proxy: a busy server slows down the
     * clients that load it instead of answering them with errors.
     */
    public interface Feeder {
        /** A backend connection has too much waiting: stop taking requests until {@link #letGo()}. */
        void hold();

        /** One connection that held this feeder has drained (or closed). */
        void letGo();
    }

    /** Sets the client whose request is being routed now (null when none): sends made meanwhile are its. */
    public void feeding(Feeder client) {
        feeding = client;
    }

    /** The client whose request is being routed, or null (repairs, probes, resync). */
    public Feeder feeding() {
        return feeding;
    }

    /** A connection that buffers writes until {@link #flushPending()} is called. */
    public interface Flushable {
        void flushPending();
    }

    /**
     * Queues a connection that was written to; every queued connection is flushed once, after the loop has
     * handled every read of this turn, so a burst of pipelined requests costs one syscall per socket, not
     * one per reply. Callers queue themselves once per turn (they keep their own flag).
     */
    public void scheduleFlush(Flushable connection) {
        dirty.add(connection);
        if (!flushScheduled) {
            flushScheduled = true;
            loop.execute(flushTask);
        }
    }

    private void flushDirty() {
        flushScheduled = false;
        // index loop: flushing may complete writes whose listeners mark more channels dirty
        for (int i = 0; i < dirty.size(); i++) {
            dirty.get(i).flushPending();
        }
        dirty.clear();
    }
}
