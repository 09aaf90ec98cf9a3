package dev.magent.core.backend;

/** One event loop's way to every server, by {@link BackendServer#id()}: the ungated pools. */
public interface Backends {
    /** The server's backend as it is (no health or hint gating): for probes and recovery. */
    Backend backend(int serverId);
}
