package dev.magent.core;

import dev.magent.core.backend.BackendTls;
import dev.magent.protocol.ProtocolLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Everything the proxy needs to run. Immutable; use {@link #builder()}.
 *
 * @param bindAddress        the address to listen on for TCP clients
 * @param port               the TCP port, 0 for an ephemeral one, -1 to disable TCP
 * @param unixSocket         a unix domain socket path to listen on as well, or {@code null}
 * @param mains              the main servers, in order (their order decides placement)
 * @param backups            the backup servers, in order; may be empty
 * @param weights            ketama weights of servers whose weight is not 1 (a server absent here weighs
 *                           1): a server of weight 3 gets three times the keys of one of weight 1 in its
 *                           ring (mains or backups). Modulo placement has no weights.
 * @param ketama             true for ketama placement, false for magent's modulo
 * @param maxConnections     client connections beyond this are refused
 * @param poolSize           keep-alive connections per backend server, shared out over the event loops
 *                           (at least one each)
 * @param requestTimeout     how long a backend request may take before it fails
 * @param failureThreshold   consecutive failures after which a server is marked down
 * @param probeInterval      first delay between probes of a down server (doubles up to probeMaxInterval)
 * @param probeMaxInterval   the longest delay between probes
 * @param readRepair         refill a main from the backup when it misses a key the backup has
 * @param limits             protocol limits on client input
 * @param idleTimeout        close client connections idle this long; {@link Duration#ZERO} never
 * @param shutdownGrace      how long SIGTERM waits for in-flight requests
 * @param ioThreads          event-loop threads; 0 picks the number of cores
 * @param hintCapacity       keys remembered per server for writes it missed while out of service; past
 *                           this the server is flushed and resynced in full when it returns
 * @param autoResync         copy a main's whole shard back from the backups when it returns empty
 * @param resyncRate         keys per second a resync copies, at most
 * @param admin              where to serve the HTTP admin endpoint (/health, /stats, /metrics), or null
 * @param tls                TLS for client connections, or null for plain TCP
 * @param backendTls         TLS to the memcached servers, or null for plain TCP
 * @param clientBufferLimit  bytes one client may have waiting in the proxy (replies it has not read yet and
 *                           requests not yet sent on); a client past it is disconnected, so that one slow
 *                           or hostile reader cannot grow the process. A single reply larger than this is
 *                           still sent to a client that has nothing else waiting.
 * @param furtherBackupPools the backup pools after the first ({@code backups}), each a ring of its own
 *                           holding one more copy of every key; may be empty
 * @param transport          the socket implementation: {@link TransportChoice#AUTO} takes io_uring where the
 *                           kernel allows it, else epoll, else NIO (see {@link Transport#select})
 * @param suspectPoll        how often the proxy reads the other proxies' records of servers that missed writes
 *                           and writes its own (docs/partitions.md); {@link Duration#ZERO} turns the records
 *                           off (one proxy, or proxies that may read stale values across a cut link)
 * @param proxyId            this proxy's id in those records (letters, digits, {@code .-_:}, at most 64), unique
 *                           among the proxies of a cluster; null for the host name and pid. Each run adds a
 *                           random part of its own
 */
public record ProxyConfig(String bindAddress, int port, Path unixSocket, List<ServerAddress> mains,
                          List<ServerAddress> backups, Map<ServerAddress, Integer> weights, boolean ketama, int maxConnections, int poolSize,
                          Duration requestTimeout, int failureThreshold, Duration probeInterval,
                          Duration probeMaxInterval, boolean readRepair, ProtocolLimits limits,
                          Duration idleTimeout, Duration shutdownGrace, int ioThreads, int hintCapacity,
                          boolean autoResync, int resyncRate, ServerAddress admin, TlsSettings tls,
                          BackendTls backendTls, long clientBufferLimit,
                          List<List<ServerAddress>> furtherBackupPools, TransportChoice transport,
                          Duration suspectPoll, String proxyId) {

    /** Loopback: a cache proxy has no authentication, so it listens on the network only when told to. */
    public static final String DEFAULT_BIND_ADDRESS = "127.0.0.1";
    public static final int DEFAULT_PORT = 11211;
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;
    /**
     * One pipelined connection per server per event loop (a pool is never smaller): requests batch up on
     * it, and every extra connection costs syscalls on both sides. C magent's default was 20, a cap on
     * connections it used one request at a time.
     */
    public static final int DEFAULT_POOL_SIZE = 1;
    /**
     * 64 MiB: far more than a reader that keeps up ever has waiting (it is paused at 256 KiB of unwritten
     * replies), and 64 such clients still fit in a small heap's worth of direct memory.
     */
    public static final long DEFAULT_CLIENT_BUFFER_LIMIT = 64L << 20;

    public ProxyConfig {
        Objects.requireNonNull(bindAddress, "bindAddress");
        mains = List.copyOf(mains);
        backups = List.copyOf(backups);
        furtherBackupPools = furtherBackupPools.stream().map(List::copyOf).toList();
        weights = Map.copyOf(weights);
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        Objects.requireNonNull(probeInterval, "probeInterval");
        Objects.requireNonNull(suspectPoll, "suspectPoll");
        if (suspectPoll.isNegative()) {
            throw new IllegalArgumentException("suspectPoll must not be negative: " + suspectPoll);
        }
        if (proxyId != null && !proxyId.matches("[A-Za-z0-9._:-]{1,64}")) {
            throw new IllegalArgumentException("a proxy id is 1 to 64 letters, digits or .-_: characters: " + proxyId);
        }
        Objects.requireNonNull(probeMaxInterval, "probeMaxInterval");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(transport, "transport");
        if (mains.isEmpty()) {
            throw new IllegalArgumentException("at least one main server (-s host:port) is needed");
        }
        if (!furtherBackupPools.isEmpty() && backups.isEmpty()) {
            throw new IllegalArgumentException("further backup pools need a first one (-b host:port)");
        }
        for (List<ServerAddress> pool : furtherBackupPools) {
            if (pool.isEmpty()) {
                throw new IllegalArgumentException("a backup pool needs at least one server");
            }
        }
        checkServersOnce(mains, backups, furtherBackupPools);
        List<ServerAddress> allBackups = new java.util.ArrayList<>(backups);
        furtherBackupPools.forEach(allBackups::addAll);
        checkWeights(mains, allBackups, weights, ketama);
        if (port < -1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        if (port == -1 && unixSocket == null) {
            throw new IllegalArgumentException("nothing to listen on: TCP disabled and no unix socket");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("max connections must be at least 1: " + maxConnections);
        }
        if (poolSize < 1) {
            throw new IllegalArgumentException("pool size must be at least 1: " + poolSize);
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("request timeout must be positive");
        }
        if (failureThreshold < 1) {
            throw new IllegalArgumentException("failure threshold must be at least 1");
        }
        if (ioThreads < 0) {
            throw new IllegalArgumentException("io threads must not be negative");
        }
        if (hintCapacity < 0) {
            throw new IllegalArgumentException("hint capacity must not be negative");
        }
        if (resyncRate < 1) {
            throw new IllegalArgumentException("resync rate must be at least 1 key per second");
        }
        if (clientBufferLimit < 1 << 20) {
            throw new IllegalArgumentException("client buffer limit must be at least 1 MiB: " + clientBufferLimit);
        }
    }

    private static void checkWeights(List<ServerAddress> mains, List<ServerAddress> backups,
                                     Map<ServerAddress, Integer> weights, boolean ketama) {
        Set<ServerAddress> servers = new HashSet<>(mains);
        servers.addAll(backups);
        for (Map.Entry<ServerAddress, Integer> e : weights.entrySet()) {
            if (!servers.contains(e.getKey())) {
                throw new IllegalArgumentException("weight given for " + e.getKey() + ", which is not a server");
            }
            if (e.getValue() < 1) {
                throw new IllegalArgumentException("weight of " + e.getKey() + " must be at least 1, got " + e.getValue());
            }
            // Silently ignoring a weight would place keys differently from what the operator asked for.
            if (e.getValue() != 1 && !ketama) {
                throw new IllegalArgumentException("weight " + e.getValue() + " of " + e.getKey()
                        + " needs ketama hashing (-k): modulo placement has no weights");
            }
        }
    }

    /**
     * A server in two pools would hold two "copies" of a key in one place: losing it would lose both.
     */
    private static void checkServersOnce(List<ServerAddress> mains, List<ServerAddress> backups,
                                         List<List<ServerAddress>> furtherBackupPools) {
        if (furtherBackupPools.isEmpty()) {
            return; // one main and one backup pool: as before, a server may be in both (a test set-up)
        }
        Set<ServerAddress> seen = new HashSet<>();
        List<ServerAddress> every = new java.util.ArrayList<>(mains);
        every.addAll(backups);
        furtherBackupPools.forEach(every::addAll);
        for (ServerAddress a : every) {
            if (!seen.add(a)) {
                throw new IllegalArgumentException("server " + a + " is in more than one pool");
            }
        }
    }

    /** Every pool in copy order: the mains, then each backup pool. */
    public List<List<ServerAddress>> pools() {
        List<List<ServerAddress>> pools = new java.util.ArrayList<>(2 + furtherBackupPools.size());
        pools.add(mains);
        if (!backups.isEmpty()) {
            pools.add(backups);
            pools.addAll(furtherBackupPools);
        }
        return pools;
    }

    /** Every backup pool in order (the first is {@link #backups()}); empty without backups. */
    public List<List<ServerAddress>> backupPools() {
        List<List<ServerAddress>> pools = pools();
        return pools.subList(1, pools.size());
    }

    /** The server's ketama weight: 1 unless {@link #weights()} says otherwise. */
    public int weightOf(ServerAddress server) {
        return weights.getOrDefault(server, 1);
    }

    /** A builder with every default set; only main servers must be added. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.bindAddress = bindAddress;
        b.port = port;
        b.unixSocket = unixSocket;
        b.mains = mains;
        b.backups = backups;
        b.weights = weights;
        b.ketama = ketama;
        b.maxConnections = maxConnections;
        b.poolSize = poolSize;
        b.requestTimeout = requestTimeout;
        b.failureThreshold = failureThreshold;
        b.probeInterval = probeInterval;
        b.probeMaxInterval = probeMaxInterval;
        b.readRepair = readRepair;
        b.limits = limits;
        b.idleTimeout = idleTimeout;
        b.shutdownGrace = shutdownGrace;
        b.ioThreads = ioThreads;
        b.hintCapacity = hintCapacity;
        b.autoResync = autoResync;
        b.resyncRate = resyncRate;
        b.admin = admin;
        b.tls = tls;
        b.backendTls = backendTls;
        b.clientBufferLimit = clientBufferLimit;
        b.furtherBackupPools = furtherBackupPools;
        b.transport = transport;
        b.suspectPoll = suspectPoll;
        b.proxyId = proxyId;
        return b;
    }

    /** Collects settings; every field starts at its documented default. */
    public static final class Builder {
        private String bindAddress = DEFAULT_BIND_ADDRESS;
        private int port = DEFAULT_PORT;
        private Path unixSocket;
        private List<ServerAddress> mains = List.of();
        private List<ServerAddress> backups = List.of();
        private Map<ServerAddress, Integer> weights = Map.of();
        private boolean ketama;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int poolSize = DEFAULT_POOL_SIZE;
        private Duration requestTimeout = Duration.ofSeconds(1);
        private int failureThreshold = 3;
        private Duration probeInterval = Duration.ofMillis(200);
        private Duration probeMaxInterval = Duration.ofSeconds(5);
        private boolean readRepair = true;
        private ProtocolLimits limits = ProtocolLimits.DEFAULT;
        private Duration idleTimeout = Duration.ZERO;
        private Duration shutdownGrace = Duration.ofSeconds(5);
        private int ioThreads;
        private int hintCapacity = 100_000;
        private boolean autoResync = true;
        private int resyncRate = 20_000;
        private ServerAddress admin;
        private TlsSettings tls;
        private BackendTls backendTls;
        private long clientBufferLimit = DEFAULT_CLIENT_BUFFER_LIMIT;
        private List<List<ServerAddress>> furtherBackupPools = List.of();
        private TransportChoice transport = TransportChoice.AUTO;
        private Duration suspectPoll = Duration.ofMillis(500);
        private String proxyId;

        private Builder() {
        }

        public Builder bindAddress(String v) { bindAddress = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder unixSocket(Path v) { unixSocket = v; return this; }
        public Builder mains(List<ServerAddress> v) { mains = v; return this; }
        public Builder backups(List<ServerAddress> v) { backups = v; return this; }
        public Builder weights(Map<ServerAddress, Integer> v) { weights = v; return this; }
        public Builder ketama(boolean v) { ketama = v; return this; }
        public Builder maxConnections(int v) { maxConnections = v; return this; }
        public Builder poolSize(int v) { poolSize = v; return this; }
        public Builder requestTimeout(Duration v) { requestTimeout = v; return this; }
        public Builder failureThreshold(int v) { failureThreshold = v; return this; }
        public Builder probeInterval(Duration v) { probeInterval = v; return this; }
        public Builder probeMaxInterval(Duration v) { probeMaxInterval = v; return this; }
        public Builder readRepair(boolean v) { readRepair = v; return this; }
        public Builder limits(ProtocolLimits v) { limits = v; return this; }
        public Builder idleTimeout(Duration v) { idleTimeout = v; return this; }
        public Builder shutdownGrace(Duration v) { shutdownGrace = v; return this; }
        public Builder ioThreads(int v) { ioThreads = v; return this; }
        public Builder hintCapacity(int v) { hintCapacity = v; return this; }
        public Builder autoResync(boolean v) { autoResync = v; return this; }
        public Builder resyncRate(int v) { resyncRate = v; return this; }
        public Builder admin(ServerAddress v) { admin = v; return this; }
        public Builder tls(TlsSettings v) { tls = v; return this; }
        public Builder backendTls(BackendTls v) { backendTls = v; return this; }
        public Builder clientBufferLimit(long v) { clientBufferLimit = v; return this; }
        public Builder furtherBackupPools(List<List<ServerAddress>> v) { furtherBackupPools = v; return this; }
        public Builder transport(TransportChoice v) { transport = v; return this; }
        public Builder suspectPoll(Duration v) { suspectPoll = v; return this; }
        public Builder proxyId(String v) { proxyId = v; return this; }

        /** Every backup pool in copy order: the first becomes {@code backups}, the rest further pools. */
        public Builder backupPools(List<List<ServerAddress>> v) {
            backups = v.isEmpty() ? List.of() : v.get(0);
            furtherBackupPools = v.size() < 2 ? List.of() : v.subList(1, v.size());
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid setting */
        public ProxyConfig build() {
            return new ProxyConfig(bindAddress, port, unixSocket, mains, backups, weights, ketama, maxConnections,
                    poolSize, requestTimeout, failureThreshold, probeInterval, probeMaxInterval, readRepair,
                    limits, idleTimeout, shutdownGrace, ioThreads, hintCapacity, autoResync, resyncRate,
                    admin, tls, backendTls, clientBufferLimit, furtherBackupPools, transport, suspectPoll, proxyId);
        }
    }
}
