package dev.magent.core.admin;

import dev.magent.core.MagentProxy;
import dev.magent.core.ServerAddress;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP admin endpoint, off unless configured ({@code --admin host:port}):
 *
 * <ul>
 *   <li>{@code GET /health}: 200 when every key has a copy on a server in service, 503 otherwise, with a
 *       small JSON body saying why ({@link HealthCheck}); for load balancers and Kubernetes probes.</li>
 *   <li>{@code GET /stats}: the proxy's counters and every server's state, latency and catch-up progress
 *       as JSON ({@link StatsSnapshot}).</li>
 *   <li>{@code GET /metrics}: the same in Prometheus' text format 0.0.4 ({@link PrometheusText}).</li>
 * </ul>
 *
 * <p>Any other path answers 404, any other method 405. It runs on the proxy's event loops: every answer is
 * computed from counters already in memory, so nothing here blocks. Like the memcached port it has no
 * authentication; bind it to loopback or a private interface.
 *
 * @see <a href="https://github.com/prometheus/docs/blob/main/content/docs/instrumenting/exposition_formats.md">Prometheus
 *     exposition formats</a>
 */
public final class AdminServer implements AutoCloseable {
    /** An idle admin connection (a probe that never closes its keep-alive) is closed after this. */
    private static final long IDLE_SECONDS = 60;
    /** Requests carry no body worth reading; anything larger is refused with 413. */
    private static final int MAX_REQUEST_BODY = 8192;

    private final Channel listener;
    private final ChannelGroup channels;

    private AdminServer(Channel listener, ChannelGroup channels) {
        this.listener = listener;
        this.channels = channels;
    }

    /**
     * Binds the endpoint on the proxy's event loops.
     *
     * @throws IOException naming the address when it cannot bind
     */
    public static AdminServer start(MagentProxy proxy, ServerAddress bind, EventLoopGroup group,
                                    Class<? extends ServerChannel> channelClass) throws IOException {
        // the first JSON and metrics answers load and link Jackson and the HTTP codec's paths, hundreds of
        // milliseconds that would otherwise stall an event loop (and its clients) at the first probe
        StatsSnapshot.of(proxy).toJson();
        ProxyMetrics.render(proxy);
        ChannelGroup channels = new DefaultChannelGroup("magent-admin", GlobalEventExecutor.INSTANCE);
        AdminHandler handler = new AdminHandler(proxy);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelClass)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ch.pipeline()
                                .addLast("idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                                .addLast("http", new HttpServerCodec())
                                .addLast("keep-alive", new HttpServerKeepAliveHandler())
                                .addLast("aggregate", new HttpObjectAggregator(MAX_REQUEST_BODY))
                                .addLast("admin", handler);
                    }
                });
        ChannelFuture bound = bootstrap.bind(new InetSocketAddress(bind.host(), bind.port())).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            Throwable cause = bound.cause();
            throw new IOException("admin endpoint cannot listen on " + bind + ": " + cause.getMessage(), cause);
        }
        channels.add(bound.channel());
        return new AdminServer(bound.channel(), channels);
    }

    /** The bound address (with the real port when 0 was asked for). */
    public SocketAddress localAddress() {
        return listener.localAddress();
    }

    /** Stops listening and closes the admin connections. */
    @Override
    public void close() {
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
