package dev.magent.cli;

import com.beust.jcommander.JCommander;
import com.beust.jcommander.Parameter;
import com.beust.jcommander.ParameterException;
import com.beust.jcommander.Parameters;
import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.core.TlsSettings;
import dev.magent.core.TransportChoice;
import dev.magent.core.backend.BackendTls;
import dev.magent.protocol.ProtocolLimits;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * magent's command line: C magent's flags (same letters, same meaning where a JVM allows it) plus
 * long-only ones for what C magent hard-coded. Parsing starts nothing, so every flag is testable; see
 * {@link Main#USAGE} for the help text and README.md for the differences from C magent.
 *
 * <p>Values may follow their flag ({@code -p 11200}) or be joined with {@code =} ({@code --port=11200}).
 */
@Parameters(separators = "= ")
final class CliOptions {
    static final int DEFAULT_TIMEOUT_MILLIS = 1000;
    static final int DEFAULT_FAILURE_THRESHOLD = 3;
    static final int DEFAULT_SHUTDOWN_GRACE_SECONDS = 5;

    @Parameter(names = {"-p", "--port"})
    int port = ProxyConfig.DEFAULT_PORT;

    @Parameter(names = {"-l", "--listen"})
    String listen = ProxyConfig.DEFAULT_BIND_ADDRESS;

    @Parameter(names = {"-s", "--server"})
    List<String> servers = new ArrayList<>();

    @Parameter(names = {"-b", "--backup"})
    List<String> backups = new ArrayList<>();

    /** One more backup pool per use, its servers comma-separated: a third, fourth... copy of every key. */
    @Parameter(names = {"--backup-pool"}, splitter = WholeValue.class)
    List<String> backupPools = new ArrayList<>();

    @Parameter(names = {"-k", "--ketama"})
    boolean ketama;

    @Parameter(names = {"-n", "--max-connections"})
    int maxConnections = ProxyConfig.DEFAULT_MAX_CONNECTIONS;

    @Parameter(names = {"-i", "--pool-size"})
    int poolSize = ProxyConfig.DEFAULT_POOL_SIZE;

    @Parameter(names = {"-f", "--unix-socket"})
    String unixSocket;

    /** C magent daemonizes unless -D; a JVM cannot fork, so magent always stays in the foreground. */
    @Parameter(names = {"-D", "--foreground"})
    boolean foreground;

    @Parameter(names = {"-h", "--help"}, help = true)
    boolean help;

    @Parameter(names = "--version", help = true)
    boolean version;

    @Parameter(names = "--timeout")
    int timeoutMillis = DEFAULT_TIMEOUT_MILLIS;

    @Parameter(names = "--failure-threshold")
    int failureThreshold = DEFAULT_FAILURE_THRESHOLD;

    @Parameter(names = "--no-repair")
    boolean noRepair;

    @Parameter(names = "--no-resync")
    boolean noResync;

    @Parameter(names = "--resync-rate")
    int resyncRate = 20_000;

    @Parameter(names = "--hint-capacity")
    int hintCapacity = 100_000;

    @Parameter(names = "--idle-timeout")
    int idleTimeoutSeconds;

    @Parameter(names = "--shutdown-grace")
    int shutdownGraceSeconds = DEFAULT_SHUTDOWN_GRACE_SECONDS;

    @Parameter(names = "--io-threads")
    int ioThreads;

    /** auto, io_uring, epoll or nio: see {@link TransportChoice}. */
    @Parameter(names = "--transport")
    String transport = TransportChoice.AUTO.wireName();

    /** Milliseconds between reads of the other proxies' suspicion records; 0 turns them off. */
    @Parameter(names = "--suspect-poll")
    int suspectPollMillis = 500;

    @Parameter(names = "--proxy-id")
    String proxyId;

    @Parameter(names = "--max-value-size")
    int maxValueSize = ProtocolLimits.DEFAULT.maxValueSize();

    @Parameter(names = "--client-buffer-limit")
    long clientBufferLimit = ProxyConfig.DEFAULT_CLIENT_BUFFER_LIMIT;

    /** A JSON configuration file; the flags given here override it (see {@link ConfigFile}). */
    @Parameter(names = {"-c", "--config"})
    String configFile;

    /** Check the configuration (flags and file, TLS files included) and exit without starting. */
    @Parameter(names = "--check-config")
    boolean checkConfig;

    /** host:port of the HTTP admin endpoint (/health, /stats, /metrics); off when not given. */
    @Parameter(names = "--admin")
    String admin;

    @Parameter(names = "--tls-cert")
    String tlsCert;

    @Parameter(names = "--tls-key")
    String tlsKey;

    @Parameter(names = "--tls-client-ca")
    String tlsClientCa;

    @Parameter(names = "--backend-tls")
    boolean backendTls;

    @Parameter(names = "--backend-tls-ca")
    String backendTlsCa;

    @Parameter(names = "--backend-tls-cert")
    String backendTlsCert;

    @Parameter(names = "--backend-tls-key")
    String backendTlsKey;

    /** The fields whose flag was given on the command line: a configuration file does not override them. */
    final Set<String> given = new HashSet<>();

    /** C magent's setuid; accepted so its command lines run, with a warning (see {@link Main}). */
    @Parameter(names = "-u")
    String user;

    /** C magent's setgid; as {@link #user}. */
    @Parameter(names = "-g")
    String group;

    /** Whatever is not a flag: always an error, reported by us rather than in JCommander's words. */
    @Parameter
    List<String> stray = new ArrayList<>();

    /** How many times -v was given: 0 info, 1 debug, 2 or more trace. */
    int verbosity;

    private static final Pattern VERBOSE = Pattern.compile("-v+|--verbose");

    private CliOptions() {
    }

    /**
     * Reads a command line.
     *
     * @throws UsageException for an unknown flag, a missing or malformed value, or a stray argument
     */
    static CliOptions parse(String... args) throws UsageException {
        CliOptions options = new CliOptions();
        JCommander commander = JCommander.newBuilder().addObject(options).programName("magent").build();
        List<String> rest = options.takeRepeatableFlags(args);
        try {
            commander.parse(rest.toArray(String[]::new));
        } catch (ParameterException e) {
            throw new UsageException(reworded(e.getMessage()));
        }
        if (options.help || options.version) {
            return options;
        }
        if (!options.stray.isEmpty()) {
            String first = options.stray.get(0);
            throw new UsageException(first.startsWith("-") && first.length() > 1
                    ? "unknown option '" + first + "' (magent -h lists them)"
                    : "unexpected argument '" + first + "' (magent -h lists the options)");
        }
        return options;
    }

    /**
     * Counts -v (also -vv, -vvv, --verbose), drops repeats of on/off flags and refuses repeats of
     * single-valued ones. JCommander refuses a repeated -v and flips a repeated on/off flag back to off,
     * while C magent (getopt) and memcached take {@code -v -v} and {@code -k -k} as the user means them.
     */
    private List<String> takeRepeatableFlags(String[] args) throws UsageException {
        Map<String, Field> byName = new HashMap<>();
        for (Field f : CliOptions.class.getDeclaredFields()) {
            Parameter p = f.getAnnotation(Parameter.class);
            if (p != null) {
                for (String name : p.names()) {
                    byName.put(name, f);
                }
            }
        }
        List<String> rest = new ArrayList<>(args.length);
        Set<Field> seen = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (VERBOSE.matcher(arg).matches()) {
                verbosity += arg.equals("--verbose") ? 1 : arg.length() - 1;
                continue;
            }
            int eq = arg.indexOf('=');
            String name = arg.startsWith("-") && eq > 0 ? arg.substring(0, eq) : arg;
            Field f = byName.get(name);
            if (f == null) {
                rest.add(arg);
                continue;
            }
            given.add(f.getName());
            boolean onOff = f.getType() == boolean.class;
            if (!seen.add(f) && !List.class.isAssignableFrom(f.getType())) {
                if (onOff) {
                    continue;
                }
                throw new UsageException(name + " is given twice");
            }
            rest.add(arg);
            if (!onOff && eq < 0) {
                if (i + 1 >= args.length) {
                    throw new UsageException(name + " needs a value");
                }
                rest.add(args[++i]);
            }
        }
        return rest;
    }

    private static final Pattern NOT_CONVERTED = Pattern.compile("\"(.+)\": couldn't convert \"(.*)\" to an? (.+)");

    /** JCommander's messages in magent's words where they read oddly, on one line. */
    private static String reworded(String message) {
        String line = oneLine(message);
        Matcher m = NOT_CONVERTED.matcher(line);
        if (m.matches()) {
            String what = m.group(3).equals("integer") || m.group(3).equals("long") ? "a whole number" : m.group(3);
            return "bad " + m.group(1) + " value '" + m.group(2) + "': expected " + what;
        }
        return line;
    }

    private static String oneLine(String message) {
        return message == null ? "bad command line" : message.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** The slf4j-simple level name for the -v count. */
    String logLevel() {
        return switch (verbosity) {
            case 0 -> "info";
            case 1 -> "debug";
            default -> "trace";
        };
    }

    /** {@code --backup-pool a,b} is one pool of two servers, not two values: no splitting at commas. */
    public static final class WholeValue implements com.beust.jcommander.converters.IParameterSplitter {
        @Override
        public List<String> split(String value) {
            return List.of(value);
        }
    }

    /** True when -u or -g was given: they are accepted but cannot take effect. */
    boolean asksForPrivilegeDrop() {
        return user != null || group != null;
    }

    /**
     * The proxy configuration these flags describe.
     *
     * @throws UsageException naming the flag at fault
     */
    ProxyConfig toConfig() throws UsageException {
        if (servers.isEmpty()) {
            throw new UsageException("at least one main server is needed: -s host:port");
        }
        Map<ServerAddress, Integer> weights = new HashMap<>();
        List<ServerAddress> mains = weightedAddresses("-s", servers, weights);
        List<ServerAddress> copies = weightedAddresses("-b", backups, weights);
        List<List<ServerAddress>> pools = new ArrayList<>();
        if (!copies.isEmpty()) {
            pools.add(copies);
        }
        List<ServerAddress> every = new ArrayList<>(concat(mains, copies));
        for (String pool : backupPools) {
            List<String> members = new ArrayList<>();
            for (String m : pool.split(",")) {
                if (m.isBlank()) {
                    throw new UsageException("bad --backup-pool value '" + pool + "': expected host:port[,host:port...]");
                }
                members.add(m);
            }
            List<ServerAddress> addresses = weightedAddresses("--backup-pool", members, weights);
            pools.add(addresses);
            every.addAll(addresses);
        }
        Set<ServerAddress> seen = new HashSet<>();
        for (ServerAddress a : every) {
            if (!seen.add(a)) {
                throw new UsageException("server " + a + " is given twice (in -s" + (backupPools.isEmpty()
                        ? " or -b" : ", -b or --backup-pool") + "): each copy needs its own server");
            }
        }
        if (port < 0 || port > 65535) {
            throw new UsageException("bad -p value " + port + ": expected a port 1..65535, or 0 to disable TCP");
        }
        Path socket = null;
        if (unixSocket != null) {
            if (unixSocket.isBlank()) {
                throw new UsageException("bad -f value: empty path");
            }
            try {
                socket = Path.of(unixSocket);
            } catch (InvalidPathException e) {
                throw new UsageException("bad -f value '" + unixSocket + "': " + e.getReason());
            }
        }
        if (port == 0 && socket == null) {
            throw new UsageException("-p 0 disables TCP: give -f PATH to listen on a unix socket instead");
        }
        checkBindAddress();
        atLeast("-n/--max-connections", maxConnections, 1);
        atLeast("-i/--pool-size", poolSize, 1);
        atLeast("--timeout", timeoutMillis, 1);
        atLeast("--failure-threshold", failureThreshold, 1);
        atLeast("--idle-timeout", idleTimeoutSeconds, 0);
        atLeast("--resync-rate", resyncRate, 1);
        atLeast("--hint-capacity", hintCapacity, 0);
        atLeast("--shutdown-grace", shutdownGraceSeconds, 0);
        atLeast("--io-threads", ioThreads, 0);
        atLeast("--max-value-size", maxValueSize, 1);
        atLeast("--suspect-poll", suspectPollMillis, 0);
        TransportChoice transportChoice;
        try {
            transportChoice = TransportChoice.parse(transport);
        } catch (IllegalArgumentException e) {
            throw new UsageException("bad --transport value '" + transport + "': expected auto, io_uring, epoll or nio");
        }
        if (clientBufferLimit < MIN_CLIENT_BUFFER_LIMIT) {
            throw new UsageException("bad --client-buffer-limit value " + clientBufferLimit + ": must be at least "
                    + MIN_CLIENT_BUFFER_LIMIT + " (1 MiB)");
        }
        try {
            return ProxyConfig.builder()
                    .bindAddress(listen)
                    // C magent: -p 0 disables TCP; ProxyConfig says that with -1 (0 there is an ephemeral port)
                    .port(port == 0 ? -1 : port)
                    .unixSocket(socket)
                    .mains(mains)
                    .backupPools(pools)
                    .weights(weights)
                    .ketama(ketama)
                    .maxConnections(maxConnections)
                    .poolSize(poolSize)
                    .requestTimeout(Duration.ofMillis(timeoutMillis))
                    .failureThreshold(failureThreshold)
                    .readRepair(!noRepair)
                    .autoResync(!noResync)
                    .resyncRate(resyncRate)
                    .hintCapacity(hintCapacity)
                    .limits(ProtocolLimits.DEFAULT.withMaxValueSize(maxValueSize))
                    .idleTimeout(Duration.ofSeconds(idleTimeoutSeconds))
                    .shutdownGrace(Duration.ofSeconds(shutdownGraceSeconds))
                    .ioThreads(ioThreads)
                    .transport(transportChoice)
                    .suspectPoll(Duration.ofMillis(suspectPollMillis))
                    .proxyId(proxyId)
                    .admin(admin == null ? null : address("--admin", admin))
                    .tls(tlsSettings())
                    .backendTls(backendTlsSettings())
                    .clientBufferLimit(clientBufferLimit)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(oneLine(e.getMessage()));
        }
    }

    private void checkBindAddress() throws UsageException {
        if (listen.isBlank()) {
            throw new UsageException("bad -l value: empty address");
        }
        try {
            InetAddress.getByName(listen);
        } catch (UnknownHostException e) {
            throw new UsageException("bad -l value '" + listen + "': not an IP address or a known host name");
        }
    }

    private static ServerAddress address(String flag, String value) throws UsageException {
        return addresses(flag, List.of(value)).get(0);
    }

    private TlsSettings tlsSettings() throws UsageException {
        if (tlsCert == null && tlsKey == null && tlsClientCa == null) {
            return null;
        }
        if (tlsCert == null || tlsKey == null) {
            throw new UsageException("TLS needs both --tls-cert (certificate chain) and --tls-key (its private key)");
        }
        try {
            return new TlsSettings(Path.of(tlsCert), Path.of(tlsKey), tlsClientCa == null ? null : Path.of(tlsClientCa));
        } catch (InvalidPathException e) {
            throw new UsageException("bad TLS file path '" + e.getInput() + "': " + e.getReason());
        }
    }

    /** Any --backend-tls* flag turns TLS to the servers on; --backend-tls alone trusts the JDK's CAs. */
    private BackendTls backendTlsSettings() throws UsageException {
        if (!backendTls && backendTlsCa == null && backendTlsCert == null && backendTlsKey == null) {
            return null;
        }
        if ((backendTlsCert == null) != (backendTlsKey == null)) {
            throw new UsageException("a client certificate for the servers needs both --backend-tls-cert"
                    + " (certificate chain) and --backend-tls-key (its private key)");
        }
        try {
            return new BackendTls(backendTlsCa == null ? null : Path.of(backendTlsCa),
                    backendTlsCert == null ? null : Path.of(backendTlsCert),
                    backendTlsKey == null ? null : Path.of(backendTlsKey));
        } catch (InvalidPathException e) {
            throw new UsageException("bad TLS file path '" + e.getInput() + "': " + e.getReason());
        }
    }

    private static List<ServerAddress> addresses(String flag, List<String> values) throws UsageException {
        List<ServerAddress> out = new ArrayList<>(values.size());
        for (String v : values) {
            try {
                out.add(ServerAddress.parse(v.trim()));
            } catch (IllegalArgumentException e) {
                throw new UsageException("bad " + flag + " value: " + oneLine(e.getMessage()));
            }
        }
        return out;
    }

    /**
     * Server addresses with an optional ketama weight after the port, as twemproxy writes them:
     * {@code host:port:weight} or {@code [ipv6]:port:weight}. Weights other than 1 go into {@code weights}.
     */
    private static List<ServerAddress> weightedAddresses(String flag, List<String> values,
                                                         Map<ServerAddress, Integer> weights) throws UsageException {
        List<ServerAddress> out = new ArrayList<>(values.size());
        for (String raw : values) {
            String v = raw.trim();
            int portStart = v.startsWith("[") ? v.indexOf("]:") + 2 : v.indexOf(':') + 1;
            int weightColon = portStart <= 0 ? -1 : v.indexOf(':', portStart);
            String address = weightColon < 0 ? v : v.substring(0, weightColon);
            ServerAddress a = addresses(flag, List.of(address)).get(0);
            out.add(a);
            if (weightColon >= 0) {
                String text = v.substring(weightColon + 1);
                int weight;
                try {
                    weight = Integer.parseInt(text);
                } catch (NumberFormatException e) {
                    throw new UsageException("bad " + flag + " value '" + v + "': the weight after host:port must be"
                            + " a whole number, got '" + text + "'");
                }
                if (weight < 1) {
                    throw new UsageException("bad " + flag + " value '" + v + "': weight must be at least 1, got "
                            + weight);
                }
                if (weight != 1) {
                    weights.put(a, weight);
                }
            }
        }
        return out;
    }

    /** The least client buffer: a reply of the largest value memcached stores by default must fit. */
    static final long MIN_CLIENT_BUFFER_LIMIT = 1L << 20;

    private static void atLeast(String flag, int value, int min) throws UsageException {
        if (value < min) {
            throw new UsageException("bad " + flag + " value " + value + ": must be at least " + min);
        }
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
