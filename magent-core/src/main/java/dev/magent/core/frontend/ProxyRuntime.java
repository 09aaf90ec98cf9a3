package dev.magent.core.frontend;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ProxyStats;
import dev.magent.core.ServerAddress;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.recovery.Rejoin;
import dev.magent.core.recovery.ResyncProgress;
import dev.magent.core.recovery.Verifier;
import dev.magent.core.route.Router;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Stat;
import dev.magent.protocol.StatsReply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.Verb;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What every client connection shares: configuration, cluster, counters, and one router per event loop. */
public final class ProxyRuntime {
    private volatile ProxyConfig config;
    private volatile Cluster cluster;
    private final ProxyStats stats;
    private final String version;
    private final String transport;
    private final Map<EventLoop, Router> routers = new IdentityHashMap<>();
    private final List<Router> routerList = new ArrayList<>();
    private final List<EventLoop> loopList = new ArrayList<>();
    private volatile KeyOwners keyOwners;
    private final dev.magent.core.route.KeyLeases leases = new dev.magent.core.route.KeyLeases();
    private final Set<ClientHandler> clients = ConcurrentHashMap.newKeySet();
    private volatile Rejoin rejoin;
    private volatile Verifier verifier;
    private volatile dev.magent.core.recovery.SuspicionBoard suspicions;
    private volatile java.util.function.Supplier<String> reloadAction;

    /** @param transport the socket implementation in use ({@code io_uring}, {@code epoll}, {@code nio}), for stats */
    public ProxyRuntime(ProxyConfig config, Cluster cluster, ProxyStats stats, String version, String transport) {
        this.config = config;
        this.cluster = cluster;
        this.stats = stats;
        this.version = version;
        this.transport = transport;
    }

    /** Registers a loop's router; only during start-up, before any client connects. */
    public void addRouter(EventLoop loop, Router router) {
        routers.put(loop, router);
        routerList.add(router);
        loopList.add(loop);
        keyOwners = new KeyOwners(routerList, loopList, leases);
    }

    /** Which loop routes each key's mutations (see {@link KeyOwners}). */
    KeyOwners keyOwners() {
        return keyOwners;
    }

    public Router routerFor(EventLoop loop) {
        Router r = routers.get(loop);
        if (r == null) {
            throw new IllegalStateException("no router for event loop " + loop);
        }
        return r;
    }

    public void reconfigure(ProxyConfig nextConfig, Cluster nextCluster) {
        this.config = nextConfig;
        this.cluster = nextCluster;
    }

    public void setRejoin(Rejoin rejoin) {
        this.rejoin = rejoin;
    }

    public void setSuspicions(dev.magent.core.recovery.SuspicionBoard board) {
        this.suspicions = board;
    }

    /** The proxy's suspicion board, or null when the records are off. */
    public dev.magent.core.recovery.SuspicionBoard suspicions() {
        return suspicions;
    }

    public void setVerifier(Verifier verifier) {
        this.verifier = verifier;
    }

    Rejoin rejoin() {
        return rejoin;
    }

    public ProxyConfig config() {
        return config;
    }

    public Cluster cluster() {
        return cluster;
    }

    public ProxyStats stats() {
        return stats;
    }

    public String version() {
        return version;
    }

    /** The socket implementation in use: {@code io_uring}, {@code epoll} or {@code nio}. */
    public String transport() {
        return transport;
    }

    /**
     * What {@code version} answers: a memcached-style number first, because clients and test suites
     * (memccapable) parse it to decide which protocol features to expect; magent speaks memcached 1.6's
     * text protocol (without meta commands), then its own version.
     */
    String protocolVersion() {
        return "1.6.0-magent-" + version;
    }

    void clientOpened(ClientHandler c) {
        clients.add(c);
    }

    public void forEachClient(java.util.function.Consumer<ClientHandler> action) {
        clients.forEach(action);
    }

    void clientClosed(ClientHandler c) {
        clients.remove(c);
    }

    /**
     * Requests accepted from clients and not yet answered, over all connections. Each connection is counted
     * on its own event loop, after whatever that loop is doing now: a request whose bytes were read before
     * this call is counted, which is what shutdown's grace period waits for. Blocks; never call it on one of
     * the proxy's loops.
     */
    public int requestsInFlight() {
        List<Future<Integer>> counts = new ArrayList<>();
        for (ClientHandler c : clients) {
            Future<Integer> n = c.countInFlight();
            if (n != null) {
                counts.add(n);
            }
        }
        int n = 0;
        for (Future<Integer> f : counts) {
            try {
                n += f.get(1, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                n++; // a loop too busy to answer within a second surely has work in flight
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return n;
            }
        }
        return n;
    }

    /**
     * {@code magent <command>} over the memcached port: {@code resync <host:port>} starts a full resync of a
     * server; {@code verify <host:port>} starts an anti-entropy run on it (refused unless it is up);
     * {@code reload} re-reads the configuration file when the daemon has one.
     */
    Reply admin(List<String> args) {
        if (args.size() == 2 && (args.get(0).equals("resync") || args.get(0).equals("verify"))) {
            BackendServer server;
            try {
                server = cluster.find(ServerAddress.parse(args.get(1)));
            } catch (IllegalArgumentException e) {
                return ErrorReply.client(e.getMessage());
            }
            if (args.get(0).equals("resync")) {
                rejoin.resyncNow(server);
                return StatusReply.OK;
            }
            if (server.state() != BackendServer.State.UP) {
                return ErrorReply.server(server.address() + " is " + server.state().name().toLowerCase()
                        + ", not up: nothing to verify");
            }
            verifier.verify(server);
            return StatusReply.OK;
        }
        if (args.size() == 1 && args.get(0).equals("reload")) {
            java.util.function.Supplier<String> action = reloadAction;
            if (action == null) {
                return ErrorReply.server("reload needs a configuration file (-c)");
            }
            String problem = action.get();
            return problem == null ? StatusReply.OK : ErrorReply.server("reload refused: " + problem);
        }
        return ErrorReply.client("unknown magent command; try: magent resync <host:port> | magent verify <host:port> | magent reload");
    }

    /** What {@code magent reload} does: returns null on success or the reason it refused. */
    public void setReloadAction(java.util.function.Supplier<String> action) {
        this.reloadAction = action;
    }

    /**
     * {@code stats}: memcached's format, so stats tools and client libraries parse it, with what C magent
     * showed (version, then one "matrix" entry per server) plus the proxy's counters.
     */
    public Reply statsReply(String arguments) {
        if (!arguments.isEmpty()) {
            return ErrorReply.UNKNOWN_COMMAND;
        }
        long now = System.currentTimeMillis();
        List<Stat> s = new ArrayList<>(64);
        s.add(new Stat("pid", Long.toString(ProcessHandle.current().pid())));
        s.add(new Stat("uptime", Long.toString((now - stats.startedMillis()) / 1000)));
        s.add(new Stat("time", Long.toString(now / 1000)));
        s.add(new Stat("version", version));
        s.add(new Stat("curr_connections", Integer.toString(stats.currentConnections())));
        s.add(new Stat("total_connections", Long.toString(stats.totalConnections())));
        s.add(new Stat("rejected_connections", Long.toString(stats.rejectedConnections())));
        s.add(new Stat("max_connections", Integer.toString(config.maxConnections())));
        for (Verb v : Verb.values()) {
            if (v != Verb.ADMIN) { // magent's own commands; mg counts clients' meta gets, not read-repair's
                s.add(new Stat("cmd_" + v.wireName(), Long.toString(stats.commands(v))));
            }
        }
        s.add(new Stat("get_hits", Long.toString(stats.getHits())));
        s.add(new Stat("get_misses", Long.toString(stats.getMisses())));
        s.add(new Stat("failovers", Long.toString(stats.failovers())));
        s.add(new Stat("read_repairs", Long.toString(stats.readRepairs())));
        s.add(new Stat("repairs_cancelled", Long.toString(stats.repairsCancelled())));
        s.add(new Stat("backup_write_errors", Long.toString(stats.backupWriteErrors())));
        s.add(new Stat("backend_timeouts", Long.toString(stats.backendTimeouts())));
        s.add(new Stat("backend_errors", Long.toString(stats.backendErrors())));
        s.add(new Stat("unavailable_errors", Long.toString(stats.unavailableErrors())));
        s.add(new Stat("clients_over_buffer_limit", Long.toString(stats.clientsOverBufferLimit())));
        s.add(new Stat("protocol_errors", Long.toString(stats.protocolErrors())));
        s.add(new Stat("hashing", config.ketama() ? "ketama" : "modulo"));
        s.add(new Stat("transport", transport));
        s.add(new Stat("read_repair", config.readRepair() ? "on" : "off"));
        if (suspicions != null) {
            s.add(new Stat("proxy_id", suspicions.proxyId()));
        }
        int i = 1;
        for (BackendServer b : cluster.all()) {
            s.add(new Stat("matrix_" + i++, b.address() + " role=" + b.role().label()
                    + " state=" + b.state().name().toLowerCase() + " pool_size=" + b.openConnections()
                    + " requests=" + b.requests() + " failures=" + b.failures()
                    + " hinted_keys=" + b.hints().size() + (b.hints().overflowed() ? " hints_overflowed=1" : "")
                    + " pool=" + b.pool()));
        }
        for (BackendServer b : cluster.all()) {
            // which proxy suspects which server (docs/partitions.md): this one does not read it meanwhile
            BackendServer.Suspicion seen = b.suspicion();
            if (!seen.readable()) {
                s.add(new Stat("suspect_" + (b.id() + 1), b.address() + (seen.by().isEmpty() ? "" : " by="
                        + String.join(",", seen.by()) + " since=" + seen.sinceMillis() / 1000)
                        + (seen.viewStale() ? " view=stale" : "")));
            }
        }
        if (rejoin != null) {
            for (Map.Entry<BackendServer, ResyncProgress> e : rejoin.allProgress()) {
                s.add(new Stat("resync_" + (e.getKey().id() + 1), e.getKey().address() + " " + e.getValue()));
            }
        }
        for (BackendServer b : cluster.all()) {
            if (b.verifyProgress().runs() > 0) {
                s.add(new Stat("verify_" + (b.id() + 1), b.address() + " " + b.verifyProgress()));
            }
        }
        return new StatsReply(s);
    }
}
