package dev.magent.core.recovery;

import dev.magent.core.ServerAddress;
import dev.magent.core.Transport;
import dev.magent.core.backend.BackendPool;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.BackendTls;
import dev.magent.protocol.MemcacheClientCodec;
import dev.magent.protocol.Stat;
import dev.magent.protocol.StatsCommand;
import dev.magent.protocol.StatsReply;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes servers with {@code stats} on a fresh connection: once at start-up, and with exponential
 * backoff while a server is down. {@code stats} rather than {@code version} because its pid and uptime
 * tell a server that was cut off (and kept its items) from one that restarted empty. A server whose
 * probe succeeds is handed to the recovery step, which decides when it serves reads again.
 */
public final class HealthProber {
    private static final Logger log = LoggerFactory.getLogger(HealthProber.class);

    /** What happens between "answers again" and "back in service" (hinted handoff, resync). */
    interface Recovery {
        /**
         * Called with the server in state SYNCING and what the probe saw; brings the server up to date
         * and marks it up. Completes exceptionally if it could not.
         */
        CompletableFuture<Void> recover(BackendServer server, ServerIdentity seen);
    }

    /**
     * Which memcached process answered: a different pid or start time than before means it restarted
     * and lost its items.
     *
     * @param pid       the process id memcached reports
     * @param startedAt unix time it started (its {@code time} minus its {@code uptime})
     * @param uptime    seconds it has been running
     */
    public record ServerIdentity(long pid, long startedAt, long uptime) {
        /** Whether this is another process than {@code before} (start times may differ by clock rounding). */
        boolean differsFrom(ServerIdentity before) {
            return before == null || pid != before.pid || Math.abs(startedAt - before.startedAt) > 2;
        }
    }

    private final EventLoopGroup group;
    private final Transport transport;
    private final SslContext tls;
    // volatile, not final: a reload changes them; a probe reads them once when it starts
    private volatile Bootstrap bootstrap;
    private volatile long timeoutMillis;
    private volatile long firstDelayMillis;
    private volatile long maxDelayMillis;
    private volatile Recovery recovery = (server, seen) -> {
        server.markUp();
        return CompletableFuture.completedFuture(null);
    };
    private volatile boolean stopped;

    public HealthProber(EventLoopGroup group, Transport transport, SslContext tls, Duration timeout, Duration firstDelay,
                 Duration maxDelay) {
        this.group = group;
        this.transport = transport;
        this.tls = tls;
        reconfigure(timeout, firstDelay, maxDelay);
    }

    /**
     * New timings from a reloaded configuration: probes started from now on use them; a server already
     * waiting for its next probe keeps that delay once.
     */
    public void reconfigure(Duration timeout, Duration firstDelay, Duration maxDelay) {
        long first = Math.max(1, firstDelay.toMillis());
        this.maxDelayMillis = Math.max(first, maxDelay.toMillis());
        this.firstDelayMillis = first;
        this.timeoutMillis = timeout.toMillis();
        this.bootstrap = BackendPool.baseBootstrap(transport, timeout.toMillis());
    }

    public void setRecovery(Recovery recovery) {
        this.recovery = recovery;
    }

    public void stop() {
        stopped = true;
    }

    /** Starts probing a server that was just marked down. */
    public void serverDown(BackendServer server) {
        schedule(server, firstDelayMillis);
    }

    private void schedule(BackendServer server, long delayMillis) {
        if (stopped) {
            return;
        }
        group.next().schedule(() -> probe(server).whenComplete((seen, f) -> {
            if (server.state() != BackendServer.State.DOWN || stopped) {
                return;
            }
            if (seen != null) {
                recoverNow(server, seen);
            } else {
                schedule(server, Math.min(maxDelayMillis, delayMillis * 2));
            }
        }), delayMillis, TimeUnit.MILLISECONDS);
    }

    private void recoverNow(BackendServer server, ServerIdentity seen) {
        if (!server.markSyncing()) {
            return;
        }
        recovery.recover(server, seen).whenComplete((v, f) -> {
            if (f != null) {
                log.warn("bringing {} up to date failed: {}; it stays out of service and is probed again",
                        server, f.getMessage());
                server.markDown("recovery failed");
            }
        });
    }

    /**
     * After a server closed a connection on its own: if another memcached process answers now (new pid or
     * start time), it restarted faster than failures could mark it down and lost its items, so it is
     * marked down here and rejoins through the usual recovery (which resyncs it). Also while it is being
     * brought up to date: a resync copying into a process that is gone must start again against the new one.
     */
    public void checkRestart(BackendServer server) {
        if (stopped || server.state() == BackendServer.State.DOWN || !server.startIdentityCheck()) {
            return;
        }
        probe(server).whenComplete((seen, f) -> {
            server.identityCheckDone();
            ServerIdentity before = server.identity();
            if (seen == null) {
                return; // not answering yet: checked again on the next connect, or failures mark it down
            }
            server.identityConfirmed();
            if (before == null) {
                server.identity(seen);
            } else if (seen.differsFrom(before) && server.state() != BackendServer.State.DOWN) {
                server.markDown("restarted (pid " + before.pid() + " -> " + seen.pid() + "): it lost its items");
            }
        });
    }

    /** One probe: connect, send {@code stats}; completes with who answered, or null on any failure. */
    public CompletableFuture<ServerIdentity> probe(BackendServer server) {
        CompletableFuture<ServerIdentity> result = new CompletableFuture<>();
        ServerAddress a = server.address();
        InetSocketAddress target;
        try {
            target = new InetSocketAddress(a.host(), a.port());
        } catch (RuntimeException e) {
            result.complete(null);
            return result;
        }
        ChannelFuture connect = bootstrap.clone(group.next()).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                BackendTls.addTo(ch, tls, a);
                ch.pipeline().addLast(new MemcacheClientCodec(BackendPool.BACKEND_LIMITS));
                ch.pipeline().addLast(new SimpleChannelInboundHandler<Object>() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.writeAndFlush(StatsCommand.GENERAL);
                        ctx.executor().schedule(() -> {
                            result.complete(null);
                            ctx.close();
                        }, timeoutMillis, TimeUnit.MILLISECONDS);
                    }

                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
                        result.complete(msg instanceof StatsReply stats ? identity(stats) : null);
                        ctx.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        result.complete(null);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        result.complete(null);
                        ctx.close();
                    }
                });
            }
        }).connect(target);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                result.complete(null);
            }
        });
        return result;
    }

    /** Reads pid, time and uptime from a stats reply; a server without them still counts as answering. */
    static ServerIdentity identity(StatsReply stats) {
        long pid = -1;
        long time = -1;
        long uptime = -1;
        for (Stat s : stats.stats()) {
            try {
                switch (s.name()) {
                    case "pid" -> pid = Long.parseLong(s.value().trim());
                    case "time" -> time = Long.parseLong(s.value().trim());
                    case "uptime" -> uptime = Long.parseLong(s.value().trim());
                    default -> {
                    }
                }
            } catch (NumberFormatException e) {
                // a field we cannot read only weakens restart detection
            }
        }
        return new ServerIdentity(pid, time >= 0 && uptime >= 0 ? time - uptime : -1, uptime);
    }
}
