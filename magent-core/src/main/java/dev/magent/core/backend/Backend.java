package dev.magent.core.backend;

import dev.magent.protocol.Command;

/**
 * The one way a command reaches a memcached server: a pool of connections implements it, health and
 * hint gating wrap it ({@link GatedBackend}), routes and recovery (resync, hint replay) call it, and tests
 * script it with a fake. As spotify/folsom's {@code RawMemcacheClient}: every layer is a {@code send}.
 */
public interface Backend {
    /**
     * Sends one command; takes ownership of it. The outcome goes to {@code completion} once, on the
     * caller's event loop, possibly before this returns (a request that fails at once).
     */
    void send(Command command, Completion completion);
}
