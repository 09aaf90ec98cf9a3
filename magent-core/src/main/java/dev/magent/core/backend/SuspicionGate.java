package dev.magent.core.backend;

import io.netty.util.concurrent.EventExecutor;

/**
 * Holds back the acknowledgement of a write that missed a copy until every other proxy can know that the
 * copy is stale (docs/partitions.md): the proxy records its suspicion of the server where every proxy
 * looks, then waits one validity period of the other proxies' views, so no proxy reads the missed copy
 * after the client was told the write succeeded.
 */
public interface SuspicionGate {
    /** No other proxy to tell: every write is acknowledged at once. */
    SuspicionGate NONE = new SuspicionGate() {
        @Override
        public void whenVisible(BackendServer missed, EventExecutor loop, Runnable acknowledge, Runnable refuse) {
            acknowledge.run();
        }

        @Override
        public boolean alone() {
            return true;
        }
    };

    /**
     * Runs {@code acknowledge} on {@code loop} once this proxy's suspicion of {@code missed} is visible to
     * every proxy, or {@code refuse} there if it could not be recorded anywhere. Runs it at once (on the
     * caller's thread, which must be {@code loop}) when the suspicion is visible already.
     */
    void whenVisible(BackendServer missed, EventExecutor loop, Runnable acknowledge, Runnable refuse);

    /**
     * Whether no other proxy of the cluster is known: then nobody else reads the copies, and a write need
     * not wait for them (a delete answers with the main, as a single proxy's fences cover its own reads).
     */
    boolean alone();
}
