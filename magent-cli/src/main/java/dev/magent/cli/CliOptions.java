package dev.magent.cli;

import com.beust.jcommander.Parameter;
import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.protocol.ProtocolLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** magent's command-line flags: C magent's, with long forms, plus what this proxy adds. */
final class CliOptions {
    @Parameter(names = {"-p", "--port"}, description = "TCP port to listen on; 0 disables TCP (then -f is needed)")
    int port = ProxyConfig.DEFAULT_PORT;

    @Parameter(names = {"-l", "--listen"},
            description = "address to listen on (default 127.0.0.1: the proxy has no authentication; "
                    + "use 0.0.0.0 to accept remote clients)")
    String listen = ProxyConfig.DEFAULT_BIND_ADDRESS;

    @Parameter(names = {"-s", "--server"}, description = "main memcached server host:port (repeat for each)")
    List<String> servers = new ArrayList<>();

    @Parameter(names = {"-b", "--backup"}, description = "backup memcached server host:port (repeat for each)")
    List<String> backups = new ArrayList<>();

    @Parameter(names = {"-k", "--ketama"}, description = "libmemcached-compatible ketama placement instead of modulo")
    boolean ketama;

    @Parameter(names = {"-n", "--max-connections"}, description = "client connections accepted at most")
    int maxConnections = ProxyConfig.DEFAULT_MAX_CONNECTIONS;

    @Parameter(names = {"-i", "--pool-size"}, description = "keep-alive connections per memcached server")
    int poolSize = ProxyConfig.DEFAULT_POOL_SIZE;

    @Parameter(names = {"-f", "--unix-socket"}, description = "unix socket path to listen on as well")
    String unixSocket;

    @Parameter(names = {"-D", "--foreground"},
            description = "stay in the foreground (magent always does; accepted for C magent compatibility)")
    boolean foreground;

    @Parameter(names = {"-v", "--verbose"}, description = "more logging (repeat for more)")
    List<Boolean> verbose = new ArrayList<>();

    @Parameter(names = {"-u", "--user"}, description = "C magent's uid switch: not possible in a JVM (see --help)")
    String user;

    @Parameter(names = {"-g", "--group"}, description = "C magent's gid switch: not possible in a JVM")
    String group;

    @Parameter(names = {"-h", "--help"}, help = true, description = "this help")
    boolean help;

    @Parameter(names = "--version", description = "print the version and exit")
    boolean version;

    @Parameter(names = "--timeout", description = "backend request timeout in milliseconds")
    long timeoutMillis = 1000;

    @Parameter(names = "--failure-threshold", description = "consecutive failures before a server is marked down")
    int failureThreshold = 3;

    @Parameter(names = "--no-repair", description = "turn read-repair off")
    boolean noRepair;

    @Parameter(names = "--no-resync", description = "do not copy a restarted main's keys back from the backups")
    boolean noResync;

    @Parameter(names = "--resync-rate", description = "keys per second a resync copies, at most")
    int resyncRate = 20_000;

    @Parameter(names = "--hint-capacity",
            description = "keys of missed writes remembered per server while it is down")
    int hintCapacity = 100_000;

    @Parameter(names = "--idle-timeout", description = "close client connections idle this many seconds; 0 never")
    long idleTimeoutSeconds;

    @Parameter(names = "--shutdown-grace", description = "seconds SIGTERM waits for requests in flight")
    long shutdownGraceSeconds = 5;

    @Parameter(names = "--io-threads", description = "event-loop threads; 0 = one per core")
    int ioThreads;

    @Parameter(names = "--max-value-size", description = "largest value a client may store, in bytes")
    int maxValueSize = ProtocolLimits.DEFAULT.maxValueSize();

    @Parameter(names = "--admin", description = "host:port for the HTTP admin endpoint (/health, /stats, /metrics)")
    String admin;

    /** The proxy configuration these flags describe; IllegalArgumentException names the bad flag. */
    ProxyConfig toConfig() {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("at least one main server is needed: -s host:port");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("bad -p value " + port + ": expected 0..65535");
        }
        if (port == 0 && unixSocket == null) {
            throw new IllegalArgumentException("-p 0 disables TCP, so -f <unix socket> is needed");
        }
        if (timeoutMillis <= 0) {
            throw new IllegalArgumentException("bad --timeout value " + timeoutMillis + ": expected milliseconds > 0");
        }
        if (maxValueSize < 1) {
            throw new IllegalArgumentException("bad --max-value-size value " + maxValueSize);
        }
        ProxyConfig.Builder b = ProxyConfig.builder()
                .bindAddress(listen)
                .port(port == 0 ? -1 : port)
                .unixSocket(unixSocket == null ? null : Path.of(unixSocket))
                .mains(addresses("-s", servers))
                .backups(addresses("-b", backups))
                .ketama(ketama)
                .maxConnections(maxConnections)
                .poolSize(poolSize)
                .requestTimeout(Duration.ofMillis(timeoutMillis))
                .failureThreshold(failureThreshold)
                .readRepair(!noRepair)
                .autoResync(!noResync)
                .resyncRate(resyncRate)
                .hintCapacity(hintCapacity)
                .idleTimeout(Duration.ofSeconds(idleTimeoutSeconds))
                .shutdownGrace(Duration.ofSeconds(shutdownGraceSeconds))
                .ioThreads(ioThreads)
                .limits(ProtocolLimits.DEFAULT.withMaxValueSize(maxValueSize));
        if (admin != null) {
            b.admin(address("--admin", admin));
        }
        return b.build();
    }

    private static List<ServerAddress> addresses(String flag, List<String> values) {
        List<ServerAddress> out = new ArrayList<>();
        for (String v : values) {
            // C magent users sometimes pass "a:1,b:2"; accept both forms
            for (String part : v.split(",")) {
                out.add(address(flag, part.trim()));
            }
        }
        return out;
    }

    private static ServerAddress address(String flag, String value) {
        try {
            return ServerAddress.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad " + flag + " value '" + value + "': " + e.getMessage());
        }
    }

    /** Log level from the number of -v flags: info, then debug, then trace. */
    String logLevel() {
        return switch (verbose.size()) {
            case 0 -> "info";
            case 1 -> "debug";
            default -> "trace";
        };
    }
}
