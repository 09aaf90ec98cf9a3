package dev.magent.core;

import java.net.SocketAddress;
import java.time.Duration;

/**
 * A running proxy. STUB: the real implementation follows.
 */
public final class MagentProxy implements AutoCloseable {
    private MagentProxy() {
    }

    /**
     * Binds the listeners and starts serving. Backends that are unreachable now are marked down and
     * probed; that is not an error.
     *
     * @throws java.io.IOException when a listener cannot bind
     */
    public static MagentProxy start(ProxyConfig config) throws java.io.IOException {
        throw new UnsupportedOperationException("not yet implemented");
    }

    /** The bound TCP address (useful with port 0), or {@code null} when TCP is disabled. */
    public SocketAddress localAddress() {
        throw new UnsupportedOperationException("not yet implemented");
    }

    /** Stops accepting, lets in-flight requests finish for at most {@code grace}, then closes everything. */
    public void shutdown(Duration grace) {
        throw new UnsupportedOperationException("not yet implemented");
    }

    /** Blocks until the proxy has shut down. */
    public void awaitTermination() throws InterruptedException {
        throw new UnsupportedOperationException("not yet implemented");
    }

    /** {@link #shutdown(Duration)} with the configured grace. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("not yet implemented");
    }
}
