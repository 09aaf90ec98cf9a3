package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.core.TransportChoice;
import dev.magent.protocol.ProtocolLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CliOptionsTest {
    private static final ServerAddress A = new ServerAddress("127.0.0.1", 11211);
    private static final ServerAddress B = new ServerAddress("127.0.0.1", 11212);
    private static final ServerAddress C = new ServerAddress("127.0.0.1", 11213);

    private static ProxyConfig config(String... args) throws UsageException {
        return CliOptions.parse(args).toConfig();
    }

    private static String error(String... args) {
        UsageException e = assertThrows(UsageException.class, () -> config(args));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void defaultsAreTheCoreDefaults() throws Exception {
        // the CLI adds no defaults of its own: whatever the core defaults to, `magent -s a` gets
        assertEquals(ProxyConfig.builder().mains(List.of(A)).build(), config("-s", "127.0.0.1:11211"));
    }

    @Test
    void documentedDefaults() throws Exception {
        ProxyConfig c = config("-s", "127.0.0.1:11211");
        assertEquals("127.0.0.1", c.bindAddress());
        assertEquals(11211, c.port());
        assertNull(c.unixSocket());
        assertEquals(List.of(), c.backups());
        assertFalse(c.ketama());
        assertEquals(4096, c.maxConnections());
        assertEquals(1, c.poolSize());
        assertEquals(Duration.ofMillis(1000), c.requestTimeout());
        assertEquals(3, c.failureThreshold());
        assertTrue(c.readRepair());
        assertEquals(Duration.ZERO, c.idleTimeout());
        assertEquals(Duration.ofSeconds(5), c.shutdownGrace());
        assertEquals(0, c.ioThreads());
        assertEquals(1024 * 1024, c.limits().maxValueSize());
        CliOptions o = CliOptions.parse("-s", "127.0.0.1:11211");
        assertEquals("info", o.logLevel());
        assertFalse(o.asksForPrivilegeDrop());
        assertFalse(o.help);
        assertFalse(o.version);
    }

    @Test
    void howToCommandLine() throws Exception {
        // the how-to's own magent command line runs unchanged
        CliOptions o = CliOptions.parse("-u", "root", "-n", "4096", "-l", "127.0.0.1", "-p", "11200",
                "-s", "127.0.0.1:11211", "-s", "127.0.0.1:11212", "-b", "127.0.0.1:11213");
        ProxyConfig c = o.toConfig();
        assertEquals(11200, c.port());
        assertEquals(List.of(A, B), c.mains());
        assertEquals(List.of(C), c.backups());
        assertTrue(o.asksForPrivilegeDrop());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-s", "--server"})
    void serversRepeatInOrder(String flag) throws Exception {
        ProxyConfig c = config(flag, "127.0.0.1:11213", flag, "127.0.0.1:11211", flag, "127.0.0.1:11212");
        assertEquals(List.of(C, A, B), c.mains());
    }

    @Test
    void backupPoolsAddCopiesInOrder() throws Exception {
        ProxyConfig c = config("-s", "127.0.0.1:11211", "-b", "127.0.0.1:11212",
                "--backup-pool", "127.0.0.1:11213,127.0.0.1:11214", "--backup-pool=127.0.0.1:11215");
        assertEquals(List.of(List.of(A), List.of(B), List.of(C, new ServerAddress("127.0.0.1", 11214)),
                List.of(new ServerAddress("127.0.0.1", 11215))), c.pools());
        assertEquals(List.of(B), c.backups(), "-b stays the first backup pool");
    }

    @Test
    void aBackupPoolWithoutMinusBIsTheFirst() throws Exception {
        ProxyConfig c = config("-s", "127.0.0.1:11211", "--backup-pool", "127.0.0.1:11212,127.0.0.1:11213");
        assertEquals(List.of(B, C), c.backups());
        assertEquals(List.of(), c.furtherBackupPools());
    }

    @Test
    void aServerInTwoPoolsIsRefused() {
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class, () -> config(
                "-s", "127.0.0.1:11211", "-b", "127.0.0.1:11212", "--backup-pool", "127.0.0.1:11212"));
        assertTrue(e.getMessage().contains("127.0.0.1:11212 is given twice"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-b", "--backup"})
    void backupsRepeatInOrder(String flag) throws Exception {
        ProxyConfig c = config("-s", "127.0.0.1:11211", flag, "127.0.0.1:11213", flag, "127.0.0.1:11212");
        assertEquals(List.of(A), c.mains());
        assertEquals(List.of(C, B), c.backups());
    }

    @Test
    void ipv6AndHostNames() throws Exception {
        ProxyConfig c = config("-s", "[::1]:11211", "-b", "cache-1.example:11211");
        assertEquals(List.of(new ServerAddress("::1", 11211)), c.mains());
        assertEquals(List.of(new ServerAddress("cache-1.example", 11211)), c.backups());
    }

    @Test
    void weightsAfterThePortAsInTwemproxy() throws Exception {
        ProxyConfig c = config("-k", "-s", "127.0.0.1:11211:3", "-s", "127.0.0.1:11212", "-b", "[::1]:11213:2",
                "-b", "127.0.0.1:11213:1");
        assertEquals(List.of(A, B), c.mains());
        assertEquals(List.of(new ServerAddress("::1", 11213), C), c.backups());
        assertEquals(3, c.weightOf(A));
        assertEquals(1, c.weightOf(B));
        assertEquals(2, c.weightOf(new ServerAddress("::1", 11213)));
        assertEquals(1, c.weightOf(C));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "127.0.0.1:11211:0 | bad -s value '127.0.0.1:11211:0': weight must be at least 1, got 0",
        "127.0.0.1:11211:x | bad -s value '127.0.0.1:11211:x': the weight after host:port must be a whole number, got 'x'",
        "127.0.0.1:11211: | bad -s value '127.0.0.1:11211:': the weight after host:port must be a whole number, got ''",
        "127.0.0.1:11211:2 | weight 2 of 127.0.0.1:11211 needs ketama hashing (-k): modulo placement has no weights",
    })
    void badWeights(String server, String message) {
        assertEquals(message, error("-s", server));
    }

    @Test
    void aWeightOfOneNeedsNoKetama() throws Exception {
        assertEquals(1, config("-s", "127.0.0.1:11211:1").weightOf(A));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-p", "--port"})
    void port(String flag) throws Exception {
        assertEquals(11200, config("-s", "a:1", flag, "11200").port());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-p", "--port"})
    void portZeroDisablesTcpAndNeedsAUnixSocket(String flag) throws Exception {
        ProxyConfig c = config("-s", "a:1", flag, "0", "-f", "/tmp/magent.sock");
        assertEquals(-1, c.port(), "C magent's -p 0 is the core's -1 (0 would be an ephemeral port)");
        assertEquals(Path.of("/tmp/magent.sock"), c.unixSocket());
        assertEquals("-p 0 disables TCP: give -f PATH to listen on a unix socket instead", error("-s", "a:1", flag, "0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-f", "--unix-socket"})
    void unixSocketBesideTcp(String flag) throws Exception {
        ProxyConfig c = config("-s", "a:1", flag, "/run/magent.sock");
        assertEquals(11211, c.port());
        assertEquals(Path.of("/run/magent.sock"), c.unixSocket());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-l", "--listen"})
    void listen(String flag) throws Exception {
        assertEquals("0.0.0.0", config("-s", "a:1", flag, "0.0.0.0").bindAddress());
        assertEquals("::1", config("-s", "a:1", flag, "::1").bindAddress());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-k", "--ketama"})
    void ketama(String flag) throws Exception {
        assertTrue(config("-s", "a:1", flag).ketama());
        assertTrue(config("-s", "a:1", flag, flag).ketama(), "a repeated switch stays on");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-n", "--max-connections"})
    void maxConnections(String flag) throws Exception {
        assertEquals(100, config("-s", "a:1", flag, "100").maxConnections());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-i", "--pool-size"})
    void poolSize(String flag) throws Exception {
        assertEquals(4, config("-s", "a:1", flag, "4").poolSize());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-D", "--foreground"})
    void foregroundIsAcceptedAndChangesNothing(String flag) throws Exception {
        CliOptions o = CliOptions.parse("-s", "a:1", flag, flag);
        assertTrue(o.foreground);
        assertEquals(config("-s", "a:1"), o.toConfig());
    }

    @ParameterizedTest
    @CsvSource({
        "'', info",
        "-v, debug",
        "--verbose, debug",
        "-vv, trace",
        "-v -v, trace",
        "--verbose -v, trace",
        "-vvv, trace",
    })
    void verbosity(String flags, String level) throws Exception {
        String[] args = ("-s a:1 " + flags).trim().split(" ");
        CliOptions o = CliOptions.parse(args);
        assertEquals(level, o.logLevel());
        assertEquals(config("-s", "a:1"), o.toConfig(), "-v changes logging only");
    }

    @Test
    void userAndGroupAreAcceptedNotApplied() throws Exception {
        CliOptions u = CliOptions.parse("-s", "a:1", "-u", "nobody");
        CliOptions g = CliOptions.parse("-s", "a:1", "-g", "nogroup");
        assertTrue(u.asksForPrivilegeDrop());
        assertTrue(g.asksForPrivilegeDrop());
        assertEquals(config("-s", "a:1"), u.toConfig());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-h", "--help"})
    void help(String flag) throws Exception {
        assertTrue(CliOptions.parse(flag).help);
        assertTrue(CliOptions.parse("-x", flag).help, "help wins over other mistakes");
    }

    @Test
    void version() throws Exception {
        assertTrue(CliOptions.parse("--version").version);
    }

    @Test
    void longOnlyFlags() throws Exception {
        ProxyConfig c = config("-s", "a:1", "--timeout", "250", "--failure-threshold", "5", "--no-repair",
                "--idle-timeout", "300", "--shutdown-grace", "30", "--io-threads", "2",
                "--max-value-size", "4194304", "--client-buffer-limit", "8388608");
        assertEquals(Duration.ofMillis(250), c.requestTimeout());
        assertEquals(8L << 20, c.clientBufferLimit());
        assertEquals(5, c.failureThreshold());
        assertFalse(c.readRepair());
        assertEquals(Duration.ofSeconds(300), c.idleTimeout());
        assertEquals(Duration.ofSeconds(30), c.shutdownGrace());
        assertEquals(2, c.ioThreads());
        assertEquals(TransportChoice.AUTO, c.transport());
        assertEquals(TransportChoice.IO_URING, config("-s", "a:1", "--transport", "io_uring").transport());
        assertEquals(TransportChoice.EPOLL, config("-s", "a:1", "--transport=epoll").transport());
        assertEquals(ProtocolLimits.DEFAULT.withMaxValueSize(4 * 1024 * 1024), c.limits());
    }

    @Test
    void valuesJoinedWithEquals() throws Exception {
        ProxyConfig c = config("--server=127.0.0.1:11211", "-b=127.0.0.1:11213", "--port=11200", "--timeout=50");
        assertEquals(List.of(A), c.mains());
        assertEquals(List.of(C), c.backups());
        assertEquals(11200, c.port());
        assertEquals(Duration.ofMillis(50), c.requestTimeout());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''                              | at least one main server is needed: -s host:port",
        "-b 127.0.0.1:1                  | at least one main server is needed: -s host:port",
        "-s foo                          | bad -s value: expected host:port, got 'foo'",
        "-s a:1 -b foo:bar               | bad -b value: bad port in 'foo:bar'",
        "-s a:0                          | bad -s value: port out of range 1..65535 in 'a:0'",
        "-s :11211                       | bad -s value: expected host:port, got ':11211'",
        "-s                              | -s needs a value",
        "-s a:1 --timeout                | --timeout needs a value",
        "-s a:1 -x                       | unknown option '-x' (magent -h lists them)",
        "-s a:1 --resync                 | unknown option '--resync' (magent -h lists them)",
        "-s a:1 extra                    | unexpected argument 'extra' (magent -h lists the options)",
        "-s a:1 -p x                     | bad -p value 'x': expected a whole number",
        "-s a:1 --port 99999999999       | bad --port value '99999999999': expected a whole number",
        "-s a:1 -p 70000                 | bad -p value 70000: expected a port 1..65535, or 0 to disable TCP",
        "-s a:1 -p -1                    | bad -p value -1: expected a port 1..65535, or 0 to disable TCP",
        "-s a:1 -p 1 --port 2            | --port is given twice",
        "-s a:1 -s a:1                   | server a:1 is given twice (in -s or -b): each copy needs its own server",
        "-s a:1 -b a:1                   | server a:1 is given twice (in -s or -b): each copy needs its own server",
        "-s a:1 -l no-such-host.invalid  | bad -l value 'no-such-host.invalid': not an IP address or a known host name",
        "-s a:1 -n 0                     | bad -n/--max-connections value 0: must be at least 1",
        "-s a:1 -i 0                     | bad -i/--pool-size value 0: must be at least 1",
        "-s a:1 --timeout 0              | bad --timeout value 0: must be at least 1",
        "-s a:1 --failure-threshold 0    | bad --failure-threshold value 0: must be at least 1",
        "-s a:1 --idle-timeout -1        | bad --idle-timeout value -1: must be at least 0",
        "-s a:1 --shutdown-grace -1      | bad --shutdown-grace value -1: must be at least 0",
        "-s a:1 --io-threads -1          | bad --io-threads value -1: must be at least 0",
        "-s a:1 --transport kqueue       | bad --transport value 'kqueue': expected auto, io_uring, epoll or nio",
        "-s a:1 --max-value-size 0       | bad --max-value-size value 0: must be at least 1",
        "-s a:1 --client-buffer-limit 1000 | bad --client-buffer-limit value 1000: must be at least 1048576 (1 MiB)",
    })
    void errorsNameTheFlag(String args, String message) {
        assertEquals(message, error(args.isEmpty() ? new String[0] : args.split(" +")));
    }
}
