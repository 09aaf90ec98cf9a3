package dev.magent.core.admin;

import dev.magent.core.MagentProxy;
import dev.magent.core.ServerAddress;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import java.io.IOException;
import java.net.SocketAddress;

/**
 * The HTTP admin endpoint: {@code /health}, {@code /stats}, {@code /metrics}. STUB: to be implemented.
 */
public final class AdminServer implements AutoCloseable {
    private AdminServer() {
    }

    /** Binds the endpoint on the proxy's event loops. */
    public static AdminServer start(MagentProxy proxy, ServerAddress bind, EventLoopGroup group,
                                    Class<? extends ServerChannel> channelClass) throws IOException {
        throw new IOException("the admin endpoint is not implemented yet");
    }

    /** The bound address. */
    public SocketAddress localAddress() {
        return null;
    }

    @Override
    public void close() {
    }
}
