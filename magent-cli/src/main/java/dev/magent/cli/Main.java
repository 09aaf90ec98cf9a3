package dev.magent.cli;

import dev.magent.core.MagentProxy;
import dev.magent.core.ProxyConfig;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The magent daemon: reads C magent's flags, starts the proxy, and on SIGTERM or SIGINT stops accepting,
 * lets requests in flight finish for {@code --shutdown-grace} seconds and exits.
 *
 * <p>Exit codes: 0 after a normal stop (or -h, --version), {@value #EXIT_USAGE} for a command line that
 * cannot run (one line on stderr, nothing started), {@value #EXIT_FAILED} when the proxy cannot start, e.g.
 * its port is taken. A memcached server that is merely unreachable is not an error: the proxy starts and
 * serves its keys from the other copies until it answers.
 */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    private static final Pattern BIND_FAILED = Pattern.compile(".*bind\\(\\.\\.\\) failed[^:]*: (.*)");

    /** Kept in C magent's shape (magent -h) so its users find their flags where they expect them. */
    static final String USAGE = """
            Usage: magent -s host:port [-s host:port ...] [-b host:port ...] [--backup-pool host:port,...] [options]

              -s, --server host:port   main memcached server; repeat for each (keys are sharded over them)
              -b, --backup host:port   backup memcached server; repeat for each (every write is copied there)
              --backup-pool host:port[,host:port...]
                                       one more backup pool (another copy of every key, on its own ring);
                                       repeat for each; reads try the main, -b's pool, then these in order
                                       host:port:weight gives a ketama weight (default 1), as twemproxy
              -p, --port N             TCP port, default 11211 (0 to disable TCP support; then -f is needed)
              -l, --listen ADDR        local bind address, default 127.0.0.1 (C magent: 0.0.0.0);
                                       magent has no authentication: open it to the network with care
              -f, --unix-socket PATH   unix socket path to listen on, default off
              -k, --ketama             ketama key placement (libmemcached-compatible); default is
                                       magent 0.6's modulo placement
              -n, --max-connections N  max client connections, default 4096
              -i, --pool-size N        keep-alive connections per memcached server, default 1
                                       (at least one per event loop)
              -v, --verbose            more logging: -v debug, -vv trace
              -D, --foreground         accepted for C magent compatibility: magent always runs in the
                                       foreground (use systemd, or nohup ... &, to detach it)
              -u uid, -g gid           accepted and ignored: a JVM cannot drop privileges; run magent as
                                       an unprivileged user (e.g. systemd User=/Group=)
              -h, --help               this message
                  --version            print the version and exit

              --timeout MS             backend request timeout in milliseconds, default 1000
              --failure-threshold N    consecutive failures that mark a server down, default 3
              --no-repair              turn read-repair off (refilling a main from the backup on a miss)
              --no-resync              do not copy a restarted main's keys back from the backups
              --resync-rate N          keys per second a resync copies, default 20000
              --hint-capacity N        keys of missed writes remembered per down server, default 100000
                                       (beyond it the server is flushed and resynced when it returns)
              --idle-timeout S         close client connections idle for S seconds, default 0 (never)
              --shutdown-grace S       seconds SIGTERM waits for requests in flight, default 5
              --io-threads N           event-loop threads, default 0 (one per core)
              --transport T            sockets: auto (default: io_uring where the kernel allows it,
                                       else epoll, else nio), io_uring, epoll or nio
              --suspect-poll MS        how often the proxies' records of servers that missed writes
                                       are read, default 500; 0 turns them off (docs/partitions.md)
              --proxy-id ID            this proxy's id in those records, default host-pid (each run adds a random part)
              --max-value-size BYTES   largest value a client may store, default 1048576 (1 MiB)
              --client-buffer-limit BYTES
                                       bytes one client may have waiting in the proxy (unread replies,
                                       requests not yet sent); past it the client is disconnected;
                                       default 67108864 (64 MiB)

              -c, --config FILE        JSON configuration file (docs/configuration.md); flags given here
                                       override it; SIGHUP or 'magent reload' re-reads it
                  --check-config       check the flags and the file (TLS files included), then exit
                                       (0 valid, 2 not)
              --admin host:port        HTTP admin endpoint: /health, /stats, /metrics; default off
              --tls-cert FILE          TLS towards clients: PEM certificate chain; with --tls-key
              --tls-key FILE           its PEM (PKCS#8) private key
              --tls-client-ca FILE     PEM CA certificates: clients must present a certificate from them
              --backend-tls            TLS to the memcached servers (memcached -Z), trusting the JDK's CAs
              --backend-tls-ca FILE    ... trusting these PEM CA certificates instead (implies --backend-tls)
              --backend-tls-cert FILE  a PEM certificate chain to present to the servers; with
              --backend-tls-key FILE   its PEM (PKCS#8) private key

            Values may also be joined with '=': --port=11200.

            Usage: magent resync host:port [--proxy host:port]
              asks a running magent (default 127.0.0.1:11211) to copy a server's keys back from the other
              copies now (the same as 'magent resync host:port' sent over the memcached port)

            Usage: magent verify host:port [--proxy host:port] [--no-wait]
              asks a running magent to compare a server's keys with their other copies and repair what
              differs, the main's copy winning (the same as 'magent verify host:port' over the memcached
              port); waits for the run to end and prints its counts, unless --no-wait
            """;

    private Main() {
    }

    public static void main(String[] args) {
        disableRecyclerUnlessAsked(); // first: Netty reads it once, when its Recycler class loads
        disableLeakDetectionUnlessAsked();
        int code = run(args, System.out, System.err);
        if (code != EXIT_OK) {
            System.exit(code);
        }
        // a normal stop comes from a signal: the JVM is already exiting and runs the shutdown hook to its end
    }

    /** The property that sizes Netty's per-thread object pools; 0 turns them off. */
    static final String RECYCLER_CAPACITY = "io.netty.recycler.maxCapacityPerThread";

    /**
     * Netty recycles its buffer objects (the pooled buffers' wrappers, slices and duplicates) through
     * per-thread queues. For magent, which takes a slice of a backend reply per value, the queues cost more
     * than the small objects they save: with them off, a 100-key get took 15 to 27% less CPU and the other
     * workloads 3 to 10% less in the same runs (docs/benchmarks.md, step 6). Elasticsearch turns them off for
     * its Netty transport as well. {@code -Dio.netty.recycler.maxCapacityPerThread=N} keeps them.
     */
    static void disableRecyclerUnlessAsked() {
        if (System.getProperty(RECYCLER_CAPACITY) == null) {
            System.setProperty(RECYCLER_CAPACITY, "0");
        }
    }

    /**
     * Netty's leak detector samples one buffer in 128 by default and records a stack trace at each of its
     * uses: in the load benchmark that was a fifth of the daemon's allocation and 1 to 2 us of CPU per
     * request. magent's buffer ownership is checked by the tests, which run Netty's paranoid level on
     * every buffer ({@code LeakGuard}); in the daemon it is off unless {@code -Dio.netty.leakDetection.level}
     * asks for it (for instance {@code MAGENT_JAVA_OPTS="... -Dio.netty.leakDetection.level=simple"}).
     */
    static void disableLeakDetectionUnlessAsked() {
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    /**
     * Runs the daemon until it is stopped.
     *
     * @return the process exit code
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length > 0 && args[0].equals("resync")) {
            return ResyncCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        if (args.length > 0 && args[0].equals("verify")) {
            return VerifyCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        CliOptions options;
        ProxyConfig config;
        try {
            options = CliOptions.parse(args);
            if (options.help) {
                out.print(USAGE);
                return EXIT_OK;
            }
            if (options.version) {
                out.println("magent " + MagentProxy.version());
                return EXIT_OK;
            }
            config = ConfigFile.toConfig(options);
            if (options.checkConfig) {
                out.println("magent: " + ConfigReload.check(config, options));
                return EXIT_OK;
            }
        } catch (UsageException e) {
            err.println("magent: " + e.getMessage());
            return EXIT_USAGE;
        }

        configureLogging(options.logLevel(), options.verbosity > 0);
        Logger log = LoggerFactory.getLogger(Main.class);
        if (options.asksForPrivilegeDrop()) {
            log.warn("-u/-g ignored: a JVM cannot drop privileges; start magent as an unprivileged user instead "
                    + "(systemd User=/Group=, or su/runuser)");
        }

        MagentProxy proxy;
        try {
            proxy = MagentProxy.start(config);
        } catch (IOException | RuntimeException e) {
            err.println("magent: " + startFailure(config, e));
            return EXIT_FAILED;
        }
        ConfigReload.install(proxy, args, options.configFile);
        // read when the signal comes, so a reloaded grace applies
        Runtime.getRuntime().addShutdownHook(new Thread(() -> proxy.shutdown(proxy.config().shutdownGrace()),
                "magent-shutdown"));
        try {
            proxy.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            proxy.shutdown(proxy.config().shutdownGrace());
        }
        return EXIT_OK;
    }

    /**
     * slf4j-simple reads its settings once, when the first logger is created: this must run before any
     * class that holds a logger is touched. Settings given with -D on the java command line win, except
     * that an explicit -v sets the level.
     */
    static void configureLogging(String level, boolean explicit) {
        if (explicit) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        } else {
            setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", level);
        }
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
        setIfAbsent("org.slf4j.simpleLogger.showThreadName", "false");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * One line for a proxy that could not start. A listener that cannot bind is named with its address:
     * epoll says "bind(..) failed with error(-98): Address already in use", NIO throws a BindException.
     */
    static String startFailure(ProxyConfig config, Throwable e) {
        String reason = null;
        for (Throwable t = e; t != null && reason == null; t = t.getCause() == t ? null : t.getCause()) {
            Matcher m = BIND_FAILED.matcher(String.valueOf(t.getMessage()));
            if (m.matches()) {
                reason = m.group(1);
            } else if (t instanceof BindException) {
                reason = String.valueOf(t.getMessage());
            }
        }
        if (reason == null) {
            return "cannot start: " + describe(e);
        }
        List<String> where = new ArrayList<>();
        if (config.port() >= 0) {
            String host = config.bindAddress().indexOf(':') >= 0 ? "[" + config.bindAddress() + "]" : config.bindAddress();
            where.add(host + ":" + config.port());
        }
        if (config.unixSocket() != null) {
            where.add(config.unixSocket().toString());
        }
        return "cannot listen on " + String.join(" or ", where) + ": "
                + (reason.isEmpty() ? reason : Character.toLowerCase(reason.charAt(0)) + reason.substring(1));
    }

    /** One line: the message of the exception and of its causes that add something. */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (sb.indexOf(m) < 0) {
                sb.append(sb.length() == 0 ? "" : ": ").append(m);
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return sb.toString().replaceAll("\\s*\\R\\s*", " ");
    }
}
