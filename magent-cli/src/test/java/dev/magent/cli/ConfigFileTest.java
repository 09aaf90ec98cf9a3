package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.core.TlsSettings;
import dev.magent.core.TransportChoice;
import dev.magent.core.backend.BackendTls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigFileTest {
    private static final ServerAddress A = new ServerAddress("10.0.0.1", 11211);
    private static final ServerAddress B = new ServerAddress("10.0.0.2", 11211);
    private static final ServerAddress C = new ServerAddress("10.0.0.3", 11211);

    @TempDir
    Path dir;

    private Path file(String json) throws IOException {
        return Files.writeString(dir.resolve("magent.json"), json);
    }

    private ProxyConfig config(String json, String... flags) throws Exception {
        Path f = file(json);
        List<String> args = new ArrayList<>(List.of("-c", f.toString()));
        args.addAll(List.of(flags));
        return ConfigFile.toConfig(CliOptions.parse(args.toArray(String[]::new)));
    }

    /** The error for a file, with the temp directory's path shortened to the file name. */
    private String error(String json, String... flags) {
        UsageException e = assertThrows(UsageException.class, () -> config(json, flags));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage().replace(dir.resolve("magent.json").toString(), "magent.json");
    }

    /** The example of docs/configuration.md, as it is there. */
    private static String documentedExample() throws IOException {
        String doc = Files.readString(Path.of("../docs/configuration.md"));
        Matcher m = Pattern.compile("## A complete example.*?```json\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        assertTrue(m.find(), "docs/configuration.md has its complete example");
        return m.group(1);
    }

    @Test
    void theDocumentedExampleSetsEverything() throws Exception {
        ProxyConfig c = config(documentedExample());
        assertEquals("127.0.0.1", c.bindAddress());
        assertEquals(11211, c.port());
        assertEquals(Path.of("/run/magent/magent.sock"), c.unixSocket());
        assertEquals(List.of(A, B), c.mains());
        assertEquals(List.of(C), c.backups());
        assertTrue(c.ketama());
        assertEquals(Duration.ofMillis(1000), c.requestTimeout());
        assertEquals(Duration.ZERO, c.idleTimeout());
        assertEquals(Duration.ofSeconds(5), c.shutdownGrace());
        assertEquals(3, c.failureThreshold());
        assertEquals(Duration.ofMillis(200), c.probeInterval());
        assertEquals(Duration.ofMillis(5000), c.probeMaxInterval());
        assertTrue(c.readRepair());
        assertTrue(c.autoResync());
        assertEquals(20_000, c.resyncRate());
        assertEquals(100_000, c.hintCapacity());
        assertEquals(4096, c.maxConnections());
        assertEquals(1048576, c.limits().maxValueSize());
        assertEquals(1, c.poolSize());
        assertEquals(0, c.ioThreads());
        assertEquals(64L << 20, c.clientBufferLimit());
        assertEquals(TransportChoice.AUTO, c.transport());
        assertEquals(new ServerAddress("127.0.0.1", 11299), c.admin());
        // paths in the file are relative to its directory
        assertEquals(new TlsSettings(dir.resolve("tls/chain.pem"), dir.resolve("tls/key.pem"),
                dir.resolve("tls/clients-ca.pem")), c.tls());
        assertEquals(new BackendTls(dir.resolve("tls/memcached-ca.pem"), dir.resolve("tls/magent-client.pem"),
                dir.resolve("tls/magent-client-key.pem")), c.backendTls());
    }

    @Test
    void theDocumentationListsEveryField() throws IOException {
        String doc = Files.readString(Path.of("../docs/configuration.md"));
        String example = documentedExample();
        for (String field : fields(ConfigFile.Document.class, "")) {
            assertTrue(doc.contains("| `" + field + "` |"), "the field table lists " + field);
            String leaf = field.substring(field.lastIndexOf('.') + 1);
            assertTrue(example.contains("\"" + leaf + "\""), "the example sets " + field);
        }
    }

    /** The JSON names of a record's fields, nested records flattened with dots. */
    private static List<String> fields(Class<?> type, String prefix) {
        List<String> out = new ArrayList<>();
        for (RecordComponent rc : type.getRecordComponents()) {
            String name = prefix + rc.getName().replaceAll("([A-Z])", "_$1").toLowerCase();
            if (rc.getType().isRecord()) {
                out.addAll(fields(rc.getType(), name + "."));
            } else {
                out.add(name);
            }
        }
        return out;
    }

    @Test
    void transportFromTheFileUnlessTheFlagIsGiven() throws Exception {
        String json = "{\"servers\": {\"main\": [\"a:1\"]}, \"transport\": \"epoll\"}";
        assertEquals(TransportChoice.EPOLL, config(json).transport());
        assertEquals(TransportChoice.NIO, config(json, "--transport", "nio").transport());
    }

    @Test
    void aFieldLeftOutKeepsTheDefault() throws Exception {
        ProxyConfig c = config("{\"servers\": {\"main\": [\"10.0.0.1:11211\"]}}");
        assertEquals(ProxyConfig.builder().mains(List.of(A)).build(), c);
    }

    @Test
    void backupPoolsListEveryCopy() throws Exception {
        ProxyConfig c = config("""
                {"servers": {"main": ["10.0.0.1:11211"],
                             "backup_pools": [["10.0.0.2:11211"], ["10.0.0.3:11211", "[::1]:11211"]]}}
                """);
        assertEquals(List.of(B), c.backups());
        assertEquals(List.of(List.of(C, new ServerAddress("::1", 11211))), c.furtherBackupPools());
    }

    @Test
    void serversAsStringsOrObjects() throws Exception {
        ProxyConfig c = config("""
                {"servers": {"main": [{"address": "10.0.0.1:11211"}, {"address": "10.0.0.2:11211", "weight": 1}],
                             "backup": [" 10.0.0.3:11211 ", "[::1]:11211"]}}
                """);
        assertEquals(List.of(A, B), c.mains());
        assertEquals(List.of(C, new ServerAddress("::1", 11211)), c.backups());
    }

    @Test
    void weightsForKetama() throws Exception {
        ProxyConfig c = config("""
                {"servers": {"main": [{"address": "10.0.0.1:11211", "weight": 3}, "10.0.0.2:11211"],
                             "backup": [{"address": "10.0.0.3:11211", "weight": 2}]},
                 "hashing": "ketama"}
                """);
        assertEquals(List.of(A, B), c.mains());
        assertEquals(3, c.weightOf(A));
        assertEquals(1, c.weightOf(B));
        assertEquals(2, c.weightOf(C));
    }

    @Test
    void aWeightWithModuloHashingIsRefused() {
        assertEquals("magent.json: field 'servers.main[1].weight': 3 needs \"hashing\": \"ketama\" (or -k): modulo"
                + " placement has no weights",
                error("{\"servers\": {\"main\": [\"10.0.0.9:1\", {\"address\": \"10.0.0.1:11211\", \"weight\": 3}]}}"));
    }

    @Test
    void ketamaFromTheCommandLineAllowsTheFilesWeights() throws Exception {
        ProxyConfig c = config("{\"servers\": {\"main\": [{\"address\": \"10.0.0.1:11211\", \"weight\": 3}]}}", "-k");
        assertEquals(3, c.weightOf(A));
    }

    @Test
    void flagsGivenOverrideTheFileFieldByField() throws Exception {
        String json = """
                {"listen": {"port": 11300, "address": "127.0.0.1"},
                 "servers": {"main": ["10.0.0.1:11211", "10.0.0.2:11211"], "backup": ["10.0.0.3:11211"]},
                 "timeouts": {"request_ms": 300}, "limits": {"pool_size": 4}, "repair": {"read_repair": false}}
                """;
        ProxyConfig c = config(json, "-p", "11400", "-s", "10.0.0.9:11211", "--no-resync", "--timeout=700");
        assertEquals(11400, c.port());
        assertEquals(List.of(new ServerAddress("10.0.0.9", 11211)), c.mains(), "-s replaces the list");
        assertEquals(List.of(C), c.backups(), "the file's backups still apply");
        assertEquals(Duration.ofMillis(700), c.requestTimeout());
        assertEquals(4, c.poolSize());
        assertFalse(c.readRepair());
        assertFalse(c.autoResync());
        // a flag given with its default value still wins
        assertEquals(20, config(json, "-i", "20").poolSize());
        // without flags the file decides
        ProxyConfig fileOnly = config(json);
        assertEquals(11300, fileOnly.port());
        assertEquals(List.of(A, B), fileOnly.mains());
        assertTrue(fileOnly.autoResync());
    }

    @Test
    void tlsToTheServersFromFlags() throws Exception {
        assertNull(CliOptions.parse("-s", "a:1").toConfig().backendTls());
        assertEquals(new BackendTls(null, null, null), CliOptions.parse("-s", "a:1", "--backend-tls").toConfig().backendTls());
        assertEquals(new BackendTls(Path.of("ca.pem"), Path.of("c.pem"), Path.of("k.pem")), CliOptions.parse("-s", "a:1",
                "--backend-tls-ca", "ca.pem", "--backend-tls-cert", "c.pem", "--backend-tls-key", "k.pem").toConfig()
                .backendTls());
        UsageException e = assertThrows(UsageException.class,
                () -> CliOptions.parse("-s", "a:1", "--backend-tls-key", "k.pem").toConfig());
        assertEquals("a client certificate for the servers needs both --backend-tls-cert (certificate chain) and"
                + " --backend-tls-key (its private key)", e.getMessage());
    }

    @Test
    void tlsToTheServersFromTheFile() throws Exception {
        assertEquals(new BackendTls(null, null, null),
                config("{\"servers\": {\"main\": [\"a:1\"]}, \"backend_tls\": {}}").backendTls());
        assertEquals(new BackendTls(dir.resolve("pki/ca.pem"), null, null),
                config("{\"servers\": {\"main\": [\"a:1\"]}, \"backend_tls\": {\"ca\": \"pki/ca.pem\"}}").backendTls());
        assertEquals("magent.json: field 'backend_tls.key': missing: a client certificate needs both the certificate"
                + " chain (cert) and its private key (key)",
                error("{\"servers\": {\"main\": [\"a:1\"]}, \"backend_tls\": {\"cert\": \"c.pem\"}}"));
        assertEquals(Path.of("flag.pem"), config("{\"servers\": {\"main\": [\"a:1\"]}, \"backend_tls\": {\"ca\": \"f.pem\"}}",
                "--backend-tls-ca", "flag.pem").backendTls().ca(), "the flag wins");
    }

    @Test
    void adminAndTlsFromFlags() throws Exception {
        ProxyConfig c = config("{\"servers\": {\"main\": [\"10.0.0.1:11211\"]}}", "--admin", "0.0.0.0:9100",
                "--tls-cert", "c.pem", "--tls-key", "k.pem");
        assertEquals(new ServerAddress("0.0.0.0", 9100), c.admin());
        assertEquals(new TlsSettings(Path.of("c.pem"), Path.of("k.pem"), null), c.tls());
        assertNull(CliOptions.parse("-s", "a:1").toConfig().admin());
        UsageException e = assertThrows(UsageException.class,
                () -> CliOptions.parse("-s", "a:1", "--tls-cert", "c.pem").toConfig());
        assertEquals("TLS needs both --tls-cert (certificate chain) and --tls-key (its private key)", e.getMessage());
        e = assertThrows(UsageException.class, () -> CliOptions.parse("-s", "a:1", "--admin", "nope").toConfig());
        assertEquals("bad --admin value: expected host:port, got 'nope'", e.getMessage());
    }

    @Test
    void portZeroInTheFileNeedsASocket() throws Exception {
        assertEquals("magent.json: field 'listen.port': 0 disables TCP: give listen.unix_socket as well",
                error("{\"listen\": {\"port\": 0}, \"servers\": {\"main\": [\"a:1\"]}}"));
        ProxyConfig c = config("{\"listen\": {\"port\": 0, \"unix_socket\": \"m.sock\"}, \"servers\": {\"main\": [\"a:1\"]}}");
        assertEquals(-1, c.port());
        assertEquals(dir.resolve("m.sock"), c.unixSocket());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"servers\": {\"main\": [\"10.0.0.1:11211\", \"x\"]}}"
            + " | magent.json: field 'servers.main[1]': expected host:port, got 'x'",
        "{\"servers\": {\"main\": [\"a:1\"], \"backup\": [\"b:99999\"]}}"
            + " | magent.json: field 'servers.backup[0]': port out of range 1..65535 in 'b:99999' (expected host:port)",
        "{\"servers\": {\"main\": [{\"address\": \"a:1\", \"weight\": 0}]}, \"hashing\": \"ketama\"}"
            + " | magent.json: field 'servers.main[0].weight': must be at least 1, got 0",
        "{\"servers\": {\"main\": [\"a:1\"], \"backup\": [\"a:1\"]}}"
            + " | magent.json: field 'servers.backup[0]': a:1 is listed twice (also servers.main[0]): each copy needs its own server",
        "{\"servers\": {\"main\": []}}"
            + " | magent.json: field 'servers.main': at least one main server is needed",
        "{\"listen\": {\"port\": 11211}}"
            + " | magent.json: no main server: give servers.main in the file or -s host:port",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"hashing\": \"md5\"}"
            + " | magent.json: field 'hashing': expected 'modulo' or 'ketama', got 'md5'",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"limits\": {\"pool_size\": 0}}"
            + " | magent.json: field 'limits.pool_size': must be at least 1, got 0",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"limits\": {\"pool_szie\": 4}}"
            + " | magent.json: field 'limits.pool_szie': unknown field (known here: client_buffer_limit, io_threads, max_connections, max_value_size, pool_size)",
        "{\"server\": {\"main\": [\"a:1\"]}}"
            + " | magent.json: field 'server': unknown field (known: admin, backend_tls, hashing, health_check, limits, listen, repair, servers, timeouts, tls, transport)",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"transport\": \"kqueue\"}"
            + " | magent.json: field 'transport': expected 'auto', 'io_uring', 'epoll' or 'nio', got 'kqueue'",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"timeouts\": {\"request_ms\": \"500\"}}"
            + " | magent.json: field 'timeouts.request_ms': expected a whole number, got '500'",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"timeouts\": {\"request_ms\": 1.5}}"
            + " | magent.json: field 'timeouts.request_ms': expected a whole number, got 1.5",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"repair\": {\"resync\": \"yes\"}}"
            + " | magent.json: field 'repair.resync': expected true or false, got 'yes'",
        "{\"servers\": {\"main\": \"a:1\"}}"
            + " | magent.json: field 'servers.main': expected a list, got 'a:1'",
        "{\"servers\": {\"main\": [[\"a:1\"]]}}"
            + " | magent.json: field 'servers.main[0]': expected \"host:port\" or {\"address\": \"host:port\", \"weight\": n}, got a list",
        "{\"servers\": [\"a:1\"]}"
            + " | magent.json: field 'servers': expected an object, got a list",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"admin\": \"localhost\"}"
            + " | magent.json: field 'admin': expected host:port, got 'localhost'",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"tls\": {\"cert\": \"c.pem\"}}"
            + " | magent.json: field 'tls.key': missing: TLS needs both a certificate chain (cert) and its private key (key)",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"health_check\": {\"probe_interval_ms\": 900, \"probe_max_interval_ms\": 100}}"
            + " | magent.json: field 'health_check.probe_max_interval_ms': must not be below probe_interval_ms (900)",
        "{\"servers\": {\"main\": [\"a:1\"]}, \"hashing\": \"ketama\", \"hashing\": \"modulo\"}"
            + " | magent.json: field 'hashing': given twice",
    })
    void badFilesAreRefusedNamingTheFieldAndTheProblem(String json, String message) {
        assertEquals(message, error(json));
    }

    @Test
    void notJsonIsRefusedWithItsPlace() throws Exception {
        String e = error("{\n  \"servers\": {\"main\": [\"a:1\"]},\n}\n");
        assertTrue(e.startsWith("magent.json: line 3, column ") && e.contains(": not valid JSON: "), e);
        e = error("{\"servers\": {\"main\": [\"a:1\"]}} trailing");
        assertTrue(e.startsWith("magent.json: line 1, column "), e);
        assertEquals("magent.json: empty: expected a JSON object", error(""));
        assertEquals("magent.json: empty: expected a JSON object", error("null"));
        assertEquals("magent.json: expected an object, got a list", error("[]"));
    }

    @Test
    void aMissingFileIsNamed() {
        UsageException e = assertThrows(UsageException.class,
                () -> ConfigFile.toConfig(CliOptions.parse("-c", dir.resolve("nope.json").toString())));
        assertEquals("cannot read configuration file " + dir.resolve("nope.json") + ": no such file or not readable",
                e.getMessage());
    }

    @Test
    void checkConfigExitsZeroWithASummaryOrTwoWithTheError() throws Exception {
        Path good = file("{\"servers\": {\"main\": [\"10.0.0.1:11211\", \"10.0.0.2:11211\"], \"backup\": [\"10.0.0.3:11211\"]}}");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"-c", good.toString(), "--check-config"}, print(out), print(err));
        assertEquals(Main.EXIT_OK, code, err.toString(StandardCharsets.UTF_8));
        assertEquals("magent: " + good + " is valid: 2 main(s) [10.0.0.1:11211, 10.0.0.2:11211], 1 backup(s) "
                + "[10.0.0.3:11211], modulo hashing\n", out.toString(StandardCharsets.UTF_8));

        Files.writeString(good, "{\"servers\": {\"main\": [\"10.0.0.1\"]}}");
        out.reset();
        code = Main.run(new String[] {"-c", good.toString(), "--check-config"}, print(out), print(err));
        assertEquals(Main.EXIT_USAGE, code);
        assertEquals("magent: " + good + ": field 'servers.main[0]': expected host:port, got '10.0.0.1'\n",
                err.toString(StandardCharsets.UTF_8));
        assertEquals("", out.toString(StandardCharsets.UTF_8));

        // TLS files are read: a missing key is found before anything starts
        Files.writeString(good, "{\"servers\": {\"main\": [\"a:1\"]}, \"tls\": {\"cert\": \"c.pem\", \"key\": \"k.pem\"}}");
        err.reset();
        code = Main.run(new String[] {"-c", good.toString(), "--check-config"}, print(out), print(err));
        assertEquals(Main.EXIT_USAGE, code);
        assertEquals("magent: cannot read TLS file " + dir.resolve("c.pem") + "\n", err.toString(StandardCharsets.UTF_8));
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
