package dev.magent.cli;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The configuration file ({@code -c magent.json}): every setting of the command line and a few more, as
 * JSON. Flags given on the command line override the file, field by field. docs/configuration.md describes
 * every field.
 *
 * <p>A file that cannot be used is refused with one line naming the file, the field and the problem:
 * {@code magent.json: field 'servers.main[1]': expected host:port, got 'x'}. Unknown fields are errors
 * (a misspelt field would otherwise silently keep its default), and so are values of the wrong type (no
 * {@code "10"} for 10, no 1.5 for a whole number).
 */
final class ConfigFile {
    private static final JsonMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** The file as written; a field left out is null and keeps its flag's value or default. */
    record Document(Listen listen, Servers servers, String hashing, Timeouts timeouts, HealthCheck healthCheck,
                    Repair repair, Limits limits, String admin, Tls tls,
                    BackendTlsFiles backendTls, String transport) {
    }

    record Listen(String address, Integer port, String unixSocket) {
    }

    /**
     * {@code backup} is the first backup pool; {@code backup_pools} the further ones in copy order (a list
     * of lists: each pool one more copy of every key), as {@code -b} then {@code --backup-pool}. Without
     * {@code backup}, the first of {@code backup_pools} is the first backup pool.
     */
    record Servers(List<ServerEntry> main, List<ServerEntry> backup, List<List<ServerEntry>> backupPools) {
    }

    /** {@code "host:port"}, or {@code {"address": "host:port", "weight": 1}}. */
    record ServerEntry(String address, Integer weight) {
        @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
        ServerEntry(@JsonProperty("address") String address, @JsonProperty("weight") Integer weight) {
            this.address = address;
            this.weight = weight;
        }

        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        static ServerEntry of(String address) {
            return new ServerEntry(address, null);
        }
    }

    record Timeouts(Integer requestMs, Integer idleS, Integer shutdownGraceS) {
    }

    record HealthCheck(Integer failureThreshold, Integer probeIntervalMs, Integer probeMaxIntervalMs) {
    }

    record Repair(Boolean readRepair, Boolean resync, Integer resyncRate, Integer hintCapacity) {
    }

    record Limits(Integer maxConnections, Integer maxValueSize, Integer poolSize, Integer ioThreads,
                  Long clientBufferLimit) {
    }

    record Tls(String cert, String key, String clientCa) {
    }

    /** {@code "backend_tls": {}} turns TLS to the servers on with the JDK's CAs; each file is optional. */
    record BackendTlsFiles(String ca, String cert, String key) {
    }

    private ConfigFile() {
    }

    /**
     * The configuration of a command line: its {@code -c} file, if any, with the flags given on the command
     * line taking precedence.
     *
     * @throws UsageException naming the file and field, or the flag, at fault
     */
    static ProxyConfig toConfig(CliOptions options) throws UsageException {
        if (options.configFile == null) {
            return options.toConfig();
        }
        Path file;
        try {
            file = Path.of(options.configFile);
        } catch (InvalidPathException e) {
            throw new UsageException("bad -c value '" + options.configFile + "': " + e.getReason());
        }
        Document doc = read(file);
        Settings s = new Settings(file);
        s.check(doc);
        s.fillIn(doc, options);
        if (!options.ketama && doc.servers() != null) {
            s.weightsNeedKetama("servers.main", options.given.contains("servers") ? null : doc.servers().main());
            s.weightsNeedKetama("servers.backup", options.given.contains("backups") ? null : doc.servers().backup());
            List<List<ServerEntry>> pools = doc.servers().backupPools();
            for (int p = 0; pools != null && p < pools.size(); p++) {
                s.weightsNeedKetama("servers.backup_pools[" + p + "]", pools.get(p));
            }
        }
        if (options.servers.isEmpty()) {
            throw new UsageException(file + ": no main server: give servers.main in the file or -s host:port");
        }
        if (options.port == 0 && options.unixSocket == null && !options.given.contains("port")) {
            throw new UsageException(s.field("listen.port", "0 disables TCP: give listen.unix_socket as well"));
        }
        ProxyConfig flagsAndFile = options.toConfig();
        ProxyConfig.Builder b = flagsAndFile.toBuilder();
        // settings that have no flag
        if (doc.healthCheck() != null) {
            if (doc.healthCheck().probeIntervalMs() != null) {
                b.probeInterval(Duration.ofMillis(doc.healthCheck().probeIntervalMs()));
            }
            if (doc.healthCheck().probeMaxIntervalMs() != null) {
                b.probeMaxInterval(Duration.ofMillis(doc.healthCheck().probeMaxIntervalMs()));
            }
        }
        ProxyConfig config = b.build();
        if (config.probeMaxInterval().compareTo(config.probeInterval()) < 0) {
            throw new UsageException(s.field("health_check.probe_max_interval_ms", "must not be below probe_interval_ms ("
                    + config.probeInterval().toMillis() + ")"));
        }
        return config;
    }

    /**
     * Reads and binds the file, without checking values.
     *
     * @throws UsageException for a file that cannot be read, is not JSON, or has unknown or mistyped fields
     */
    static Document read(Path file) throws UsageException {
        JsonNode tree;
        try {
            tree = JSON.readTree(file.toFile());
        } catch (JsonParseException e) {
            if (e.getOriginalMessage().startsWith("Duplicate field") && e.getProcessor() != null) {
                throw new UsageException(file + ": field '" + path(e.getProcessor().getParsingContext())
                        + "': given twice");
            }
            throw new UsageException(file + ": " + where(e) + "not valid JSON: " + oneLine(e.getOriginalMessage())
                    .replaceAll(" \\(for input source.*", ""));
        } catch (JsonProcessingException e) {
            throw new UsageException(file + ": " + where(e) + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            String why = e instanceof java.io.FileNotFoundException || e instanceof java.nio.file.NoSuchFileException
                    ? "no such file or not readable" : String.valueOf(e.getMessage());
            throw new UsageException("cannot read configuration file " + file + ": " + why);
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            throw new UsageException(file + ": empty: expected a JSON object");
        }
        try {
            return JSON.treeToValue(tree, Document.class);
        } catch (JsonMappingException e) {
            throw new UsageException(file + ": " + describe(e, tree));
        } catch (JsonProcessingException e) {
            throw new UsageException(file + ": " + oneLine(e.getOriginalMessage()));
        }
    }

    private static String oneLine(String message) {
        return String.valueOf(message).replaceAll("\\s*\\R.*", "");
    }

    private static String where(JsonProcessingException e) {
        return e.getLocation() == null ? "" : "line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr() + ": ";
    }

    /** Jackson's binding errors in the file's terms: the field's path, what was expected, what was there. */
    private static String describe(JsonMappingException e, JsonNode tree) {
        String path = path(e.getPath());
        String field = path.isEmpty() ? "" : "field '" + path + "': ";
        if (e instanceof UnrecognizedPropertyException u) {
            TreeSet<String> known = new TreeSet<>();
            for (Object id : u.getKnownPropertyIds()) {
                known.add(String.valueOf(id));
            }
            return field + "unknown field (" + (path.contains(".") || path.contains("[") ? "known here: " : "known: ")
                    + String.join(", ", known) + ")";
        }
        if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
            return field + "expected " + expected(m.getTargetType()) + got(at(tree, e.getPath()));
        }
        return field + oneLine(e.getOriginalMessage());
    }

    /** The node at a binding error's path, or null. */
    private static JsonNode at(JsonNode tree, List<JsonMappingException.Reference> refs) {
        JsonNode node = tree;
        for (JsonMappingException.Reference r : refs) {
            if (node == null) {
                return null;
            }
            node = r.getFieldName() != null ? node.get(r.getFieldName()) : node.get(r.getIndex());
        }
        return node;
    }

    private static String got(JsonNode node) {
        if (node == null) {
            return "";
        }
        if (node.isTextual()) {
            return ", got '" + node.textValue() + "'";
        }
        if (node.isArray()) {
            return ", got a list";
        }
        if (node.isObject()) {
            return ", got an object";
        }
        return ", got " + node; // numbers, true, false, null as written
    }

    private static String expected(Class<?> type) {
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type == ServerEntry.class) {
            return "\"host:port\" or {\"address\": \"host:port\", \"weight\": n}";
        }
        if (Collection.class.isAssignableFrom(type)) {
            return "a list";
        }
        return "an object";
    }

    /** Where a parser is, as {@code servers.main[1]}. */
    private static String path(JsonStreamContext context) {
        List<JsonMappingException.Reference> refs = new ArrayList<>();
        for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            refs.add(0, c.inArray() ? new JsonMappingException.Reference(null, c.getCurrentIndex())
                    : new JsonMappingException.Reference(null, c.getCurrentName()));
        }
        return path(refs);
    }

    private static String path(List<JsonMappingException.Reference> refs) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : refs) {
            if (r.getFieldName() != null) {
                sb.append(sb.length() == 0 ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    /** Checks the values of one file and copies them into the command line's options. */
    private static final class Settings {
        private final Path file;
        private final Map<ServerAddress, String> seen = new HashMap<>();

        Settings(Path file) {
            this.file = file;
        }

        String field(String path, String problem) {
            return file + ": field '" + path + "': " + problem;
        }

        /**
         * Values a flag would also refuse, refused here in the file's terms, so that an error never names
         * a flag the user did not give.
         */
        void check(Document d) throws UsageException {
            if (d.listen() != null) {
                Listen l = d.listen();
                if (l.address() != null) {
                    if (l.address().isBlank()) {
                        throw new UsageException(field("listen.address", "empty"));
                    }
                    try {
                        InetAddress.getByName(l.address());
                    } catch (UnknownHostException e) {
                        throw new UsageException(field("listen.address", "not an IP address or a known host name: '"
                                + l.address() + "'"));
                    }
                }
                if (l.port() != null && (l.port() < 0 || l.port() > 65535)) {
                    throw new UsageException(field("listen.port", "expected a port 1..65535, or 0 for no TCP, got "
                            + l.port()));
                }
                if (l.unixSocket() != null) {
                    path("listen.unix_socket", l.unixSocket());
                }
            }
            if (d.servers() != null) {
                servers("servers.main", d.servers().main());
                servers("servers.backup", d.servers().backup());
                if (d.servers().backupPools() != null) {
                    for (int p = 0; p < d.servers().backupPools().size(); p++) {
                        List<ServerEntry> pool = d.servers().backupPools().get(p);
                        if (pool == null || pool.isEmpty()) {
                            throw new UsageException(field("servers.backup_pools[" + p + "]",
                                    "a backup pool needs at least one server"));
                        }
                        servers("servers.backup_pools[" + p + "]", pool);
                    }
                }
            }
            if (d.hashing() != null && !d.hashing().equals("modulo") && !d.hashing().equals("ketama")) {
                throw new UsageException(field("hashing", "expected 'modulo' or 'ketama', got '" + d.hashing() + "'"));
            }
            if (d.transport() != null) {
                try {
                    dev.magent.core.TransportChoice.parse(d.transport());
                } catch (IllegalArgumentException e) {
                    throw new UsageException(field("transport", "expected 'auto', 'io_uring', 'epoll' or 'nio', got '"
                            + d.transport() + "'"));
                }
            }
            if (d.timeouts() != null) {
                atLeast("timeouts.request_ms", d.timeouts().requestMs(), 1);
                atLeast("timeouts.idle_s", d.timeouts().idleS(), 0);
                atLeast("timeouts.shutdown_grace_s", d.timeouts().shutdownGraceS(), 0);
            }
            if (d.healthCheck() != null) {
                atLeast("health_check.failure_threshold", d.healthCheck().failureThreshold(), 1);
                atLeast("health_check.probe_interval_ms", d.healthCheck().probeIntervalMs(), 1);
                atLeast("health_check.probe_max_interval_ms", d.healthCheck().probeMaxIntervalMs(), 1);
            }
            if (d.repair() != null) {
                atLeast("repair.resync_rate", d.repair().resyncRate(), 1);
                atLeast("repair.hint_capacity", d.repair().hintCapacity(), 0);
            }
            if (d.limits() != null) {
                atLeast("limits.max_connections", d.limits().maxConnections(), 1);
                atLeast("limits.max_value_size", d.limits().maxValueSize(), 1);
                atLeast("limits.pool_size", d.limits().poolSize(), 1);
                atLeast("limits.io_threads", d.limits().ioThreads(), 0);
                Long buffer = d.limits().clientBufferLimit();
                if (buffer != null && buffer < CliOptions.MIN_CLIENT_BUFFER_LIMIT) {
                    throw new UsageException(field("limits.client_buffer_limit", "must be at least "
                            + CliOptions.MIN_CLIENT_BUFFER_LIMIT + " (1 MiB), got " + buffer));
                }
            }
            if (d.admin() != null) {
                address("admin", d.admin());
            }
            if (d.tls() != null) {
                Tls t = d.tls();
                if (t.cert() == null || t.key() == null) {
                    throw new UsageException(field(t.cert() == null ? "tls.cert" : "tls.key",
                            "missing: TLS needs both a certificate chain (cert) and its private key (key)"));
                }
                path("tls.cert", t.cert());
                path("tls.key", t.key());
                if (t.clientCa() != null) {
                    path("tls.client_ca", t.clientCa());
                }
            }
            if (d.backendTls() != null) {
                BackendTlsFiles t = d.backendTls();
                if ((t.cert() == null) != (t.key() == null)) {
                    throw new UsageException(field(t.cert() == null ? "backend_tls.cert" : "backend_tls.key",
                            "missing: a client certificate needs both the certificate chain (cert) and its private"
                                    + " key (key)"));
                }
                for (String[] f : new String[][] {{"backend_tls.ca", t.ca()}, {"backend_tls.cert", t.cert()},
                        {"backend_tls.key", t.key()}}) {
                    if (f[1] != null) {
                        path(f[0], f[1]);
                    }
                }
            }
        }

        private void servers(String path, List<ServerEntry> list) throws UsageException {
            if (list == null) {
                return;
            }
            if (list.isEmpty() && path.equals("servers.main")) {
                throw new UsageException(field(path, "at least one main server is needed"));
            }
            for (int i = 0; i < list.size(); i++) {
                ServerEntry e = list.get(i);
                String at = path + "[" + i + "]";
                if (e == null || e.address() == null) {
                    throw new UsageException(field(at, "expected host:port, got null"));
                }
                ServerAddress a = address(at, e.address());
                String first = seen.putIfAbsent(a, at);
                if (first != null) {
                    throw new UsageException(field(at, a + " is listed twice (also " + first
                            + "): each copy needs its own server"));
                }
                if (e.weight() != null && e.weight() < 1) {
                    throw new UsageException(field(at + ".weight", "must be at least 1, got " + e.weight()));
                }
            }
        }

        /** Names the field where ProxyConfig would only name the server. */
        void weightsNeedKetama(String path, List<ServerEntry> list) throws UsageException {
            for (int i = 0; list != null && i < list.size(); i++) {
                Integer w = list.get(i).weight();
                if (w != null && w != 1) {
                    throw new UsageException(field(path + "[" + i + "].weight", w + " needs \"hashing\": \"ketama\""
                            + " (or -k): modulo placement has no weights"));
                }
            }
        }

        private ServerAddress address(String path, String text) throws UsageException {
            try {
                return ServerAddress.parse(text.trim());
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                throw new UsageException(field(path, m.startsWith("expected") ? m : m + " (expected host:port)"));
            }
        }

        private void path(String field, String text) throws UsageException {
            if (text.isBlank()) {
                throw new UsageException(field(field, "empty path"));
            }
            try {
                Path.of(text);
            } catch (InvalidPathException e) {
                throw new UsageException(field(field, "bad path '" + text + "': " + e.getReason()));
            }
        }

        private void atLeast(String path, Integer value, int min) throws UsageException {
            if (value != null && value < min) {
                throw new UsageException(field(path, "must be at least " + min + ", got " + value));
            }
        }

        /** A path in the file is relative to the file's directory, not to wherever magent was started. */
        private String resolve(String text) {
            Path dir = file.toAbsolutePath().getParent();
            return dir == null ? text : dir.resolve(text).toString();
        }

        /** Copies the file's values into the options whose flag was not given on the command line. */
        void fillIn(Document d, CliOptions o) {
            if (d.listen() != null) {
                Listen l = d.listen();
                if (l.address() != null && !o.given.contains("listen")) {
                    o.listen = l.address();
                }
                if (l.port() != null && !o.given.contains("port")) {
                    o.port = l.port();
                }
                if (l.unixSocket() != null && !o.given.contains("unixSocket")) {
                    o.unixSocket = resolve(l.unixSocket());
                }
            }
            if (d.servers() != null) {
                if (d.servers().main() != null && !o.given.contains("servers")) {
                    o.servers = addresses(d.servers().main());
                }
                if (d.servers().backup() != null && !o.given.contains("backups")) {
                    o.backups = addresses(d.servers().backup());
                }
                List<List<ServerEntry>> pools = d.servers().backupPools();
                if (pools != null && !o.given.contains("backupPools")) {
                    o.backupPools = new ArrayList<>();
                    for (List<ServerEntry> pool : pools) {
                        o.backupPools.add(String.join(",", addresses(pool)));
                    }
                }
            }
            if (d.hashing() != null && !o.given.contains("ketama")) {
                o.ketama = d.hashing().equals("ketama");
            }
            if (d.transport() != null && !o.given.contains("transport")) {
                o.transport = d.transport();
            }
            if (d.timeouts() != null) {
                Timeouts t = d.timeouts();
                if (t.requestMs() != null && !o.given.contains("timeoutMillis")) {
                    o.timeoutMillis = t.requestMs();
                }
                if (t.idleS() != null && !o.given.contains("idleTimeoutSeconds")) {
                    o.idleTimeoutSeconds = t.idleS();
                }
                if (t.shutdownGraceS() != null && !o.given.contains("shutdownGraceSeconds")) {
                    o.shutdownGraceSeconds = t.shutdownGraceS();
                }
            }
            if (d.healthCheck() != null && d.healthCheck().failureThreshold() != null
                    && !o.given.contains("failureThreshold")) {
                o.failureThreshold = d.healthCheck().failureThreshold();
            }
            if (d.repair() != null) {
                Repair r = d.repair();
                if (r.readRepair() != null && !o.given.contains("noRepair")) {
                    o.noRepair = !r.readRepair();
                }
                if (r.resync() != null && !o.given.contains("noResync")) {
                    o.noResync = !r.resync();
                }
                if (r.resyncRate() != null && !o.given.contains("resyncRate")) {
                    o.resyncRate = r.resyncRate();
                }
                if (r.hintCapacity() != null && !o.given.contains("hintCapacity")) {
                    o.hintCapacity = r.hintCapacity();
                }
            }
            if (d.limits() != null) {
                Limits l = d.limits();
                if (l.maxConnections() != null && !o.given.contains("maxConnections")) {
                    o.maxConnections = l.maxConnections();
                }
                if (l.maxValueSize() != null && !o.given.contains("maxValueSize")) {
                    o.maxValueSize = l.maxValueSize();
                }
                if (l.poolSize() != null && !o.given.contains("poolSize")) {
                    o.poolSize = l.poolSize();
                }
                if (l.ioThreads() != null && !o.given.contains("ioThreads")) {
                    o.ioThreads = l.ioThreads();
                }
                if (l.clientBufferLimit() != null && !o.given.contains("clientBufferLimit")) {
                    o.clientBufferLimit = l.clientBufferLimit();
                }
            }
            if (d.admin() != null && !o.given.contains("admin")) {
                o.admin = d.admin();
            }
            if (d.tls() != null) {
                if (d.tls().cert() != null && !o.given.contains("tlsCert")) {
                    o.tlsCert = resolve(d.tls().cert());
                }
                if (d.tls().key() != null && !o.given.contains("tlsKey")) {
                    o.tlsKey = resolve(d.tls().key());
                }
                if (d.tls().clientCa() != null && !o.given.contains("tlsClientCa")) {
                    o.tlsClientCa = resolve(d.tls().clientCa());
                }
            }
            if (d.backendTls() != null) {
                BackendTlsFiles t = d.backendTls();
                o.backendTls = true;
                if (t.ca() != null && !o.given.contains("backendTlsCa")) {
                    o.backendTlsCa = resolve(t.ca());
                }
                if (t.cert() != null && !o.given.contains("backendTlsCert")) {
                    o.backendTlsCert = resolve(t.cert());
                }
                if (t.key() != null && !o.given.contains("backendTlsKey")) {
                    o.backendTlsKey = resolve(t.key());
                }
            }
        }

        private static List<String> addresses(List<ServerEntry> entries) {
            List<String> out = new ArrayList<>(entries.size());
            for (ServerEntry e : entries) {
                // the -s/-b form, host:port:weight, so the flags and the file take one path from here
                out.add(e.weight() == null ? e.address().trim() : e.address().trim() + ":" + e.weight());
            }
            return out;
        }
    }
}
