package dev.magent.core;

import dev.magent.core.admin.AdminServer;
import dev.magent.core.backend.BackendPool;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.LoopContext;
import dev.magent.core.frontend.ClientHandler;
import dev.magent.core.frontend.ProtocolSniffer;
import dev.magent.core.frontend.ProxyRuntime;
import dev.magent.core.recovery.HealthProber;
import dev.magent.core.recovery.Rejoin;
import dev.magent.core.recovery.SuspicionBoard;
import dev.magent.core.recovery.ResyncProgress;
import dev.magent.core.recovery.Verifier;
import dev.magent.core.recovery.VerifyProgress;
import dev.magent.core.route.Router;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running proxy: listens for memcached clients, shards their keys over the main servers, copies every
 * write to the backups, fails over and repairs. See docs/semantics.md for the rules.
 */
public final class MagentProxy implements AutoCloseable {
    /**
     * A client with more unread replies than the high mark is read no further until it has taken them down
     * to the low one, as memcached stops reading a connection whose replies cannot be written.
     */
    static final WriteBufferWaterMark CLIENT_WATER_MARK = new WriteBufferWaterMark(128 << 10, 256 << 10);

    private static final Logger log = LoggerFactory.getLogger(MagentProxy.class);
    /** Lines starting with this word are the proxy's own commands ({@code magent resync host:port}). */
    static final String ADMIN_PREFIX = "magent";

    private final ProxyConfig config;
    private final ProxyRuntime runtime;
    private final EventLoopGroup group;
    private final HealthProber prober;
    private final List<LoopContext> loops;
    private final ChannelGroup listeners = new DefaultChannelGroup("magent-listeners", GlobalEventExecutor.INSTANCE);
    private final ChannelGroup clients = new DefaultChannelGroup("magent-clients", GlobalEventExecutor.INSTANCE);
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile SocketAddress tcpAddress;
    private volatile boolean shuttingDown;

    private MagentProxy(ProxyConfig config) {
        this.config = config;
        Transport.Selection selection = Transport.select(config.transport(), Transport.Availability.NATIVE);
        Transport transport = selection.transport();
        this.transport = transport;
        this.sslContext = config.tls() == null ? null : config.tls().newServerContext();
        this.backendTls = config.backendTls() == null ? null : config.backendTls().newClientContext();
        int threads = config.ioThreads() == 0 ? Runtime.getRuntime().availableProcessors() : config.ioThreads();
        this.group = transport.newGroup(threads, "magent-io");
        Cluster cluster = new Cluster(config);
        ProxyStats stats = new ProxyStats();
        this.runtime = new ProxyRuntime(config, cluster, stats, version(), transport.wireName());
        this.prober = new HealthProber(group, transport, backendTls, config.requestTimeout(), config.probeInterval(),
                config.probeMaxInterval());
        this.stateListener = (server, from, to) -> {
            if (to == BackendServer.State.DOWN) {
                prober.serverDown(server);
            }
        };
        for (BackendServer s : cluster.all()) {
            s.setListener(stateListener);
            s.setConnectionLostListener(prober::checkRestart);
        }

        this.threads = threads;
        List<LoopContext> contexts = new ArrayList<>();
        for (EventExecutor e : group) {
            EventLoop loop = (EventLoop) e;
            LoopContext ctx = new LoopContext(loop, null);
            ctx.replacePools(newPools(config, cluster, ctx));
            contexts.add(ctx);
            runtime.addRouter(loop, new Router(cluster, ctx, stats, config.readRepair()));
        }
        int perLoop = Math.max(1, config.poolSize() / threads);
        this.loops = List.copyOf(contexts);
        this.rejoin = new Rejoin(cluster, contexts.get(0), contexts.get(0).loop(), transport, backendTls, config);
        prober.setRecovery(rejoin);
        runtime.setRejoin(rejoin);
        this.verifier = new Verifier(cluster, contexts.get(0), contexts.get(0).loop(), transport, backendTls, config);
        if (config.suspectPoll().isZero()) {
            this.suspicions = null;
            this.boardLoop = null;
        } else {
            // an incarnation of its own even with a configured id: entries a previous run of this proxy left
            // are a dead proxy's (its hints died with it), so they are taken over, not silently cleared
            String id = (config.proxyId() != null ? config.proxyId() : generatedProxyId()) + "."
                    + Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF));
            // pools of its own: its polls are not client requests, so they stay out of the servers' counts
            this.boardLoop = new LoopContext(contexts.get(0).loop(), null);
            boardLoop.replacePools(newPools(config, cluster, boardLoop, false));
            this.suspicions = new SuspicionBoard(id, cluster, boardLoop, contexts.get(0).loop(),
                    config.suspectPoll().toMillis(), config.requestTimeout().toMillis());
            for (LoopContext ctx : contexts) {
                runtime.routerFor(ctx.loop()).joinSuspicions(suspicions, ctx.loop());
            }
            runtime.setSuspicions(suspicions);
            log.info("proxy id {}: servers that miss writes are recorded for the other proxies every {} ms",
                    id, config.suspectPoll().toMillis());
        }
        runtime.setVerifier(verifier);
        log.info("magent {} using {} transport ({}), {} event loops, {} connections per server per loop",
                runtime.version(), transport.wireName(), selection.reason(), threads, perLoop);

        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
                .childOption(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, CLIENT_WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        clients.add(ch);
                        ProxyConfig current = runtime.config(); // a reload applies to new connections
                        if (!current.idleTimeout().isZero()) {
                            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0,
                                    current.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        }
                        if (sslContext != null) {
                            ch.pipeline().addLast("tls", sslContext.newHandler(ch.alloc()));
                        }
                        // text or binary, told from the first byte; the sniffer puts the codec in its place
                        ch.pipeline().addLast("sniffer", new ProtocolSniffer(current.limits(), ADMIN_PREFIX));
                        ch.pipeline().addLast("client", new ClientHandler(runtime));
                    }
                });
        this.bootstrapTemplate = server;
    }

    private final Rejoin rejoin;
    private final Verifier verifier;
    /** Null when the records are off (--suspect-poll 0). */
    private final SuspicionBoard suspicions;
    private final LoopContext boardLoop;

    /** The host name and pid: unique among a cluster's proxies without configuration. */
    private static String generatedProxyId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "host";
        }
        host = host.replaceAll("[^A-Za-z0-9.-]", "");
        if (host.length() > 32) {
            host = host.substring(0, 32);
        }
        return (host.isEmpty() ? "host" : host) + "-" + ProcessHandle.current().pid();
    }
    private final SslContext sslContext;
    private final SslContext backendTls;
    private volatile AdminServer admin;
    private final BackendServer.StateListener stateListener;
    private final int threads;
    private final ServerBootstrap bootstrapTemplate;
    private final Transport transport;

    /** One loop's pools for a cluster: each loop gets its share of the -i connections per server, at least one. */
    private BackendPool[] newPools(ProxyConfig cfg, Cluster cluster, LoopContext ctx) {
        return newPools(cfg, cluster, ctx, true);
    }

    private BackendPool[] newPools(ProxyConfig cfg, Cluster cluster, LoopContext ctx, boolean counted) {
        int perLoop = counted ? Math.max(1, cfg.poolSize() / threads) : 1;
        var bootstrap = BackendPool.baseBootstrap(transport, cfg.requestTimeout().toMillis());
        BackendPool[] pools = new BackendPool[cluster.size()];
        for (int i = 0; i < pools.length; i++) {
            pools[i] = new BackendPool(cluster.server(i), bootstrap, backendTls, perLoop,
                    cfg.requestTimeout().toNanos());
            pools[i].attach(ctx);
            if (!counted) {
                pools[i].uncounted();
            }
        }
        return pools;
    }

    /**
     * Applies a new configuration without dropping client connections or failing requests in flight: new
     * rings and pools are swapped in on every event loop; requests already sent finish on the old
     * connections, which close once they can no longer have replies due. Servers that stay keep their
     * state, hints and counters. Listener settings (bind address, port, unix socket, event loops) need a
     * restart.
     *
     * @throws IllegalArgumentException when the new configuration changes what needs a restart
     */
    public synchronized void reload(ProxyConfig next) {
        for (LoopContext ctx : loops) {
            if (ctx.loop().inEventLoop()) {
                // it waits for every loop in turn: on one of them it would wait for itself
                throw new IllegalStateException("reload must not run on one of the proxy's event loops");
            }
        }
        ProxyConfig current = runtime.config();
        List<String> needRestart = new ArrayList<>();
        if (!java.util.Objects.equals(current.admin(), next.admin())) {
            needRestart.add("admin endpoint");
        }
        if (!java.util.Objects.equals(current.tls(), next.tls())) {
            needRestart.add("TLS settings");
        }
        if (!java.util.Objects.equals(current.backendTls(), next.backendTls())) {
            needRestart.add("TLS to the servers");
        }
        if (!current.bindAddress().equals(next.bindAddress())) {
            needRestart.add("bind address");
        }
        if (current.port() != next.port()) {
            needRestart.add("port");
        }
        if (!java.util.Objects.equals(current.unixSocket(), next.unixSocket())) {
            needRestart.add("unix socket");
        }
        if (current.ioThreads() != next.ioThreads()) {
            needRestart.add("io threads");
        }
        if (current.transport() != next.transport()) {
            needRestart.add("transport");
        }
        if (!needRestart.isEmpty()) {
            throw new IllegalArgumentException("changing " + String.join(", ", needRestart) + " needs a restart");
        }
        Cluster previous = runtime.cluster();
        Cluster cluster = new Cluster(next, previous);
        for (BackendServer s : cluster.all()) {
            if (!cluster.carriedOver(s, previous)) {
                s.setListener(stateListener);
                s.setConnectionLostListener(prober::checkRestart);
                HealthProber.ServerIdentity seen = prober.probe(s).join();
                s.identity(seen);
                if (seen == null) {
                    s.markDown("unreachable when the configuration was loaded");
                }
            }
        }
        long retireAfterMillis = 2 * Math.max(current.requestTimeout().toMillis(), next.requestTimeout().toMillis()) + 100;
        for (LoopContext ctx : loops) {
            BackendPool[] pools = newPools(next, cluster, ctx);
            Router router = runtime.routerFor(ctx.loop());
            ctx.loop().submit(() -> {
                BackendPool[] old = ctx.replacePools(pools);
                router.reconfigure(cluster, next.readRepair());
                ctx.loop().schedule(() -> {
                    for (BackendPool p : old) {
                        p.close();
                    }
                }, retireAfterMillis, TimeUnit.MILLISECONDS);
            }).syncUninterruptibly();
        }
        rejoin.reconfigure(cluster, next);
        verifier.reconfigure(cluster, next);
        if (suspicions != null) {
            BackendPool[] pools = newPools(next, cluster, boardLoop, false);
            boardLoop.loop().submit(() -> {
                BackendPool[] old = boardLoop.replacePools(pools);
                suspicions.reconfigure(cluster);
                boardLoop.loop().schedule(() -> {
                    for (BackendPool p : old) {
                        p.close();
                    }
                }, retireAfterMillis, TimeUnit.MILLISECONDS);
            }).syncUninterruptibly();
        }
        prober.reconfigure(next.requestTimeout(), next.probeInterval(), next.probeMaxInterval());
        runtime.reconfigure(next, cluster);
        log.info("configuration reloaded: {} mains, {} backups, {} hashing", next.mains().size(),
                next.backups().size(), next.ketama() ? "ketama" : "modulo");
    }

    /**
     * Binds the listeners and starts serving. Backends that are unreachable now are marked down and
     * probed; that is not an error.
     *
     * @throws IOException when a listener cannot bind
     */
    public static MagentProxy start(ProxyConfig config) throws IOException {
        MagentProxy proxy = new MagentProxy(config);
        try {
            proxy.checkBackends();
            proxy.firstSuspicionPoll();
            proxy.bind();
        } catch (IOException | RuntimeException e) {
            proxy.shutdown(Duration.ZERO);
            throw e;
        }
        return proxy;
    }

    /** Reads the other proxies' records before serving, so no read goes to a server one of them suspects. */
    private void firstSuspicionPoll() {
        if (suspicions == null) {
            return;
        }
        try {
            suspicions.start().get(config.requestTimeout().toMillis() * 2 + 500, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.warn("the first read of the suspicion records did not finish in time: {}", e.toString());
        }
    }

    private void checkBackends() {
        List<CompletableFuture<HealthProber.ServerIdentity>> probes = new ArrayList<>();
        BackendServer[] servers = runtime.cluster().all();
        for (BackendServer s : servers) {
            probes.add(prober.probe(s));
        }
        for (int i = 0; i < servers.length; i++) {
            HealthProber.ServerIdentity seen;
            try {
                seen = probes.get(i).get(config.requestTimeout().toMillis() * 2 + 100, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                seen = null;
            }
            servers[i].identity(seen);
            if (seen == null) {
                log.warn("{} does not answer at start-up; serving its keys from the other copies until it does",
                        servers[i]);
                servers[i].markDown("unreachable at start-up");
            }
        }
    }

    private void bind() throws IOException {
        try {
            if (config.port() >= 0) {
                Channel ch = bootstrapTemplate.clone().channel(transport.serverChannel())
                        .bind(new InetSocketAddress(config.bindAddress(), config.port())).sync().channel();
                listeners.add(ch);
                tcpAddress = ch.localAddress();
                log.info("listening on {}", tcpAddress);
            }
            if (config.unixSocket() != null) {
                Files.deleteIfExists(config.unixSocket());
                SocketAddress address = transport.domainAddress(config.unixSocket());
                Channel ch = bootstrapTemplate.clone().channel(transport.serverDomainChannel())
                        .bind(address).sync().channel();
                listeners.add(ch);
                log.info("listening on unix socket {}", config.unixSocket());
            }
            if (config.admin() != null) {
                admin = AdminServer.start(this, config.admin(), group, transport.serverChannel());
                log.info("admin endpoint on http://{}/ (/health, /stats, /metrics)", admin.localAddress());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while binding", e);
        } catch (Exception e) {
            if (e instanceof IOException io) {
                throw io;
            }
            // Netty rethrows bind errors (a checked exception) from sync() without declaring them
            throw new IOException("cannot listen: " + e.getMessage(), e);
        }
    }

    /** The admin endpoint's address, or {@code null} when it is off. */
    public SocketAddress adminAddress() {
        AdminServer a = admin;
        return a == null ? null : a.localAddress();
    }

    /** The bound TCP address (useful with port 0), or {@code null} when TCP is disabled. */
    public SocketAddress localAddress() {
        return tcpAddress;
    }

    /** Counters, for tests and embedding. */
    /** The socket implementation in use, as {@link Transport#select} chose it. */
    public Transport transport() {
        return transport;
    }

    /** The records of servers that missed writes, shared with the other proxies; null when off. */
    SuspicionBoard suspicions() {
        return suspicions;
    }

    public ProxyStats stats() {
        return runtime.stats();
    }

    /** The configuration in force (after reloads, the latest). */
    public ProxyConfig config() {
        return runtime.config();
    }

    /** The servers, mains first, with their state. */
    public List<BackendServer> servers() {
        return List.of(runtime.cluster().all());
    }

    /**
     * Copies a server's keys back from the other copies now (what a returning, restarted main gets
     * automatically). Safe to run twice and while clients write: it only adds what is missing.
     *
     * @return completes when the resync finished
     * @throws IllegalArgumentException if the address is not one of the proxy's servers
     */
    public CompletableFuture<Void> resync(ServerAddress server) {
        return rejoin.resyncNow(runtime.cluster().find(server));
    }

    /**
     * Compares a server's keys with their other copies and repairs what differs, the authority's copy
     * winning (docs/semantics.md, "Anti-entropy"); the same as {@code magent verify host:port}.
     *
     * @return completes when the run finished; fails when the server is not up or a metadump failed
     * @throws IllegalArgumentException if the address is not one of the proxy's servers
     */
    public CompletableFuture<Void> verify(ServerAddress server) {
        return verifier.verify(runtime.cluster().find(server));
    }

    /** The counts of a server's current or last verify. */
    public VerifyProgress verifyProgress(ServerAddress server) {
        return runtime.cluster().find(server).verifyProgress();
    }

    /**
     * What {@code magent reload} over the memcached port does (the daemon re-reads its configuration file and
     * calls {@link #reload}); the supplier returns null on success or why it refused.
     */
    public void setReloadAction(java.util.function.Supplier<String> action) {
        runtime.setReloadAction(action);
    }

    /** The catch-up progress of a server (resync and hinted keys). */
    public ResyncProgress resyncProgress(ServerAddress server) {
        return rejoin.progress(runtime.cluster().find(server));
    }

    /** Stops accepting, lets in-flight requests finish for at most {@code grace}, then closes everything. */
    public void shutdown(Duration grace) {
        synchronized (this) {
            if (shuttingDown) {
                return;
            }
            shuttingDown = true;
        }
        log.info("shutting down: no new connections, waiting up to {} ms for {} requests in flight",
                grace.toMillis(), runtime.requestsInFlight());
        listeners.close().awaitUninterruptibly();
        if (admin != null) {
            admin.close();
        }
        if (config.unixSocket() != null) {
            try {
                Files.deleteIfExists(config.unixSocket());
            } catch (IOException e) {
                log.warn("could not remove unix socket {}: {}", config.unixSocket(), e.getMessage());
            }
        }
        long deadline = System.nanoTime() + grace.toNanos();
        while (runtime.requestsInFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        prober.stop();
        if (suspicions != null) {
            suspicions.stop();
        }
        clients.close().awaitUninterruptibly();
        for (LoopContext ctx : loops) {
            ctx.loop().submit(() -> {
                for (BackendPool p : ctx.pools()) {
                    p.close();
                }
            }).awaitUninterruptibly();
        }
        if (boardLoop != null) {
            boardLoop.loop().submit(() -> {
                for (BackendPool p : boardLoop.pools()) {
                    p.close();
                }
            }).awaitUninterruptibly();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        log.info("stopped");
        terminated.countDown();
    }

    /** Blocks until the proxy has shut down. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /** {@link #shutdown(Duration)} with the configured grace. */
    @Override
    public void close() {
        shutdown(runtime.config().shutdownGrace());
    }

    /** The proxy's version, from the jar manifest when packaged. */
    public static String version() {
        String v = MagentProxy.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }

    /** Every client's and backend connection's flow-control state: for debugging a stalled client. */
    String flowState() {
        StringBuilder sb = new StringBuilder();
        runtime.forEachClient(c -> sb.append(c).append('\n'));
        for (LoopContext loop : loops) {
            for (BackendPool pool : loop.pools()) {
                sb.append(pool);
            }
        }
        return sb.toString();
    }
}
