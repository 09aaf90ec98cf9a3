package dev.magent.core;

import dev.magent.protocol.MemcacheClientCodec;
import dev.magent.protocol.VersionCommand;
import dev.magent.protocol.VersionReply;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes servers with {@code version} on a fresh connection: once at start-up, and with exponential
 * backoff while a server is down. A server whose probe succeeds is handed to the recovery step, which
 * decides when it serves reads again.
 */
final class HealthProber {
    private static final Logger log = LoggerFactory.getLogger(HealthProber.class);

    /** What happens between "answers again" and "back in service" (hinted handoff, resync). */
    interface Recovery {
        /** Called with the server in state SYNCING; completes when it may serve reads. */
        CompletableFuture<Void> recover(BackendServer server);
    }

    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final long timeoutMillis;
    private final long firstDelayMillis;
    private final long maxDelayMillis;
    private volatile Recovery recovery = server -> CompletableFuture.completedFuture(null);
    private volatile boolean stopped;

    HealthProber(EventLoopGroup group, Transport transport, Duration timeout, Duration firstDelay, Duration maxDelay) {
        this.group = group;
        this.timeoutMillis = timeout.toMillis();
        this.firstDelayMillis = Math.max(1, firstDelay.toMillis());
        this.maxDelayMillis = Math.max(firstDelayMillis, maxDelay.toMillis());
        this.bootstrap = BackendPool.baseBootstrap(transport, timeoutMillis);
    }

    void setRecovery(Recovery recovery) {
        this.recovery = recovery;
    }

    void stop() {
        stopped = true;
    }

    /** Starts probing a server that was just marked down. */
    void serverDown(BackendServer server) {
        schedule(server, firstDelayMillis);
    }

    private void schedule(BackendServer server, long delayMillis) {
        if (stopped) {
            return;
        }
        group.next().schedule(() -> probe(server).whenComplete((ok, f) -> {
            if (server.state() != BackendServer.State.DOWN || stopped) {
                return;
            }
            if (Boolean.TRUE.equals(ok)) {
                recoverNow(server);
            } else {
                schedule(server, Math.min(maxDelayMillis, delayMillis * 2));
            }
        }), delayMillis, TimeUnit.MILLISECONDS);
    }

    private void recoverNow(BackendServer server) {
        if (!server.markSyncing()) {
            return;
        }
        recovery.recover(server).whenComplete((v, f) -> {
            if (f != null) {
                log.warn("bringing {} up to date failed: {}; it stays out of read service and is probed again",
                        server, f.getMessage());
                if (server.markDown("recovery failed")) {
                    return; // the state listener restarts probing
                }
            }
            server.markUp();
        });
    }

    /** One probe: connect, send {@code version}, expect {@code VERSION}; completes with the outcome. */
    CompletableFuture<Boolean> probe(BackendServer server) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        ServerAddress a = server.address();
        InetSocketAddress target;
        try {
            target = new InetSocketAddress(a.host(), a.port());
        } catch (RuntimeException e) {
            result.complete(false);
            return result;
        }
        ChannelFuture connect = bootstrap.clone(group.next()).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new MemcacheClientCodec(BackendPool.BACKEND_LIMITS));
                ch.pipeline().addLast(new SimpleChannelInboundHandler<Object>() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.writeAndFlush(VersionCommand.INSTANCE);
                        ctx.executor().schedule(() -> {
                            result.complete(false);
                            ctx.close();
                        }, timeoutMillis, TimeUnit.MILLISECONDS);
                    }

                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
                        result.complete(msg instanceof VersionReply);
                        ctx.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        result.complete(false);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        result.complete(false);
                        ctx.close();
                    }
                });
            }
        }).connect(target);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                result.complete(false);
            }
        });
        return result;
    }
}
