package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.magent.core.MemcachedProcess;
import dev.magent.core.TextClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The packaged daemon, {@code magent-cli/target/magent.jar}, run as users run it: a separate JVM with a
 * command line. Needs memcached on the PATH for the end-to-end cases (.ci/run installs it).
 */
class MainIT {
    private static final Path JAR = Path.of(System.getProperty("magent.jar", "target/magent.jar"));
    private static final long SIGTERM_EXIT = 128 + 15;

    private final List<Process> started = new ArrayList<>();
    private final List<MemcachedProcess> servers = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        for (MemcachedProcess m : servers) {
            m.close();
        }
    }

    /** A finished run of the daemon. */
    private record Run(int exitCode, String stdout, String stderr) {
        List<String> errLines() {
            return stderr.isEmpty() ? List.of() : List.of(stderr.split("\\R"));
        }
    }

    /** A running daemon; its output goes to files, which outlive the process (its pipes close when killed). */
    private record Daemon(Process process, Path stdout, Path stderr) {
        String err() throws IOException {
            return Files.readString(stderr);
        }

        /** SIGTERM, as systemd or Ctrl-C would stop it; returns the exit code. */
        int terminate() throws InterruptedException {
            process.destroy();
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "magent stops on SIGTERM");
            return process.exitValue();
        }
    }

    private Daemon launch(String... args) throws IOException {
        assertTrue(Files.isRegularFile(JAR), JAR + " missing: failsafe runs after package, which builds it");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("magent-it", ".out");
        Path err = Files.createTempFile("magent-it", ".err");
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        started.add(p);
        return new Daemon(p, out, err);
    }

    private Run runToEnd(String... args) throws Exception {
        Daemon d = launch(args);
        if (!d.process().waitFor(60, TimeUnit.SECONDS)) {
            fail("magent " + String.join(" ", args) + " did not exit");
        }
        return new Run(d.process().exitValue(), Files.readString(d.stdout()), d.err());
    }

    private static void assertNoStackTrace(String stderr) {
        assertFalse(stderr.contains("\tat ") || stderr.contains("Exception in thread"), "stack trace on stderr:\n" + stderr);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "-s foo",
        "-s 127.0.0.1:11211 -b 127.0.0.1:notaport",
        "-s 127.0.0.1:11211 --no-such-flag",
        "-s 127.0.0.1:11211 -p 0",
        "-s 127.0.0.1:11211 -p 65536",
        "-s 127.0.0.1:11211 -n",
    })
    void badCommandLineExits2WithOneLine(String args) throws Exception {
        Run r = runToEnd(args.isEmpty() ? new String[0] : args.split(" "));
        assertEquals(2, r.exitCode(), r.stderr());
        assertEquals(1, r.errLines().size(), "exactly one line on stderr:\n" + r.stderr());
        assertTrue(r.errLines().get(0).startsWith("magent: "), r.stderr());
        assertNoStackTrace(r.stderr());
        assertEquals("", r.stdout());
    }

    @Test
    void helpAndVersion() throws Exception {
        Run help = runToEnd("-h");
        assertEquals(0, help.exitCode());
        assertTrue(help.stdout().startsWith("Usage: magent -s host:port"), help.stdout());
        assertEquals("", help.stderr());
        Run version = runToEnd("--version");
        assertEquals(0, version.exitCode());
        assertTrue(version.stdout().matches("magent \\d\\S*\\R"), version.stdout());
    }

    @Test
    void portInUseExits1WithOneErrorLine() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Run r = runToEnd("-u", "nobody", "-p", Integer.toString(taken.getLocalPort()),
                    "-s", "127.0.0.1:" + MemcachedProcess.freePort());
            assertEquals(1, r.exitCode(), r.stderr());
            assertNoStackTrace(r.stderr());
            List<String> errors = r.errLines().stream().filter(l -> l.startsWith("magent: ")).toList();
            assertEquals(1, errors.size(), r.stderr());
            assertEquals("magent: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": address already in use",
                    errors.get(0));
            assertEquals(errors.get(0), r.errLines().get(r.errLines().size() - 1), "the error is the last line");
            assertEquals(1, r.errLines().stream().filter(l -> l.contains("-u/-g ignored")).count(),
                    "one warning for -u:\n" + r.stderr());
        }
    }

    @Test
    void unreachableServerAtStartIsNotAnErrorAndSigtermStops() throws Exception {
        int port = MemcachedProcess.freePort();
        Daemon magent = launch("-p", Integer.toString(port), "-s", "127.0.0.1:" + MemcachedProcess.freePort(), "--shutdown-grace", "1");
        Listening.await(magent.process(), port);
        try (TextClient client = new TextClient(port)) {
            assertTrue(client.call("version\r\n").startsWith("VERSION "));
        }
        assertEquals(SIGTERM_EXIT, magent.terminate());
        String log = magent.err();
        assertNoStackTrace(log);
        assertTrue(log.contains("does not answer at start-up"), log);
    }

    /** The how-to's test transcript through the real daemon, with C magent's own flags. */
    @Test
    void howToTranscriptEndToEnd() throws Exception {
        int aPort = memcached().port();
        MemcachedProcess b = memcached();
        int bPort = b.port();
        int cPort = memcached().port();
        int proxyPort = MemcachedProcess.freePort();
        Path socket = Files.createTempDirectory("magent-it").resolve("magent.sock");
        Daemon magent = launch("-u", "root", "-n", "4096", "-l", "127.0.0.1", "-p", Integer.toString(proxyPort),
                "-s", "127.0.0.1:" + aPort, "-s", "127.0.0.1:" + bPort, "-b", "127.0.0.1:" + cPort,
                "-f", socket.toString());
        Listening.await(magent.process(), proxyPort);

        String[] keys = {"key1", "key2", "key3", "key4", "key5"};
        String[] values = {"1", "22", "333", "4444", "55555"};
        try (TextClient proxy = new TextClient(proxyPort)) {
            for (int i = 0; i < keys.length; i++) {
                assertEquals("STORED\r\n", proxy.call("set " + keys[i] + " 0 0 " + values[i].length() + "\r\n"
                        + values[i] + "\r\n"));
            }
        }
        // placement as in the how-to (magent 0.6 modulo): key2, key4 on the first main, the rest on the second
        try (TextClient onA = new TextClient(aPort); TextClient onB = new TextClient(bPort); TextClient onC = new TextClient(cPort)) {
            for (int i = 0; i < keys.length; i++) {
                boolean onFirst = keys[i].equals("key2") || keys[i].equals("key4");
                assertEquals(onFirst ? hit(keys[i], values[i]) : "END\r\n", onA.call("get " + keys[i] + "\r\n"));
                assertEquals(onFirst ? "END\r\n" : hit(keys[i], values[i]), onB.call("get " + keys[i] + "\r\n"));
                assertEquals(hit(keys[i], values[i]), onC.call("get " + keys[i] + "\r\n"), "backup has all");
            }
        }
        b.kill();
        try (TextClient proxy = new TextClient(proxyPort)) {
            for (int i = 0; i < keys.length; i++) {
                assertEquals(hit(keys[i], values[i]), proxy.call("get " + keys[i] + "\r\n"), keys[i] + " with a main down");
            }
        }
        // -f: the same proxy on a unix socket
        try (SocketChannel unix = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            unix.connect(UnixDomainSocketAddress.of(socket));
            unix.write(ByteBuffer.wrap("get key1\r\n".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer reply = ByteBuffer.allocate(256);
            String expected = hit("key1", "1");
            while (reply.position() < expected.length() && unix.read(reply) >= 0) {
                Thread.onSpinWait();
            }
            assertEquals(expected, new String(reply.array(), 0, reply.position(), StandardCharsets.US_ASCII));
        }
        assertEquals(SIGTERM_EXIT, magent.terminate());
        assertFalse(Files.exists(socket), "the unix socket is removed on shutdown");
        String log = magent.err();
        assertNoStackTrace(log);
        assertTrue(log.contains("-u/-g ignored"), log);
    }

    /** {@code magent verify} from the command line against the packaged daemon: it waits and prints the counts. */
    @Test
    void verifySubcommandRepairsAPlantedDifference() throws Exception {
        int aPort = memcached().port();
        int cPort = memcached().port();
        int proxyPort = MemcachedProcess.freePort();
        Daemon magent = launch("-l", "127.0.0.1", "-p", Integer.toString(proxyPort), "-s", "127.0.0.1:" + aPort,
                "-b", "127.0.0.1:" + cPort);
        Listening.await(magent.process(), proxyPort);
        try (TextClient proxy = new TextClient(proxyPort); TextClient onC = new TextClient(cPort)) {
            assertEquals("STORED\r\n", proxy.call("set k1 0 0 4\r\nmain\r\n"));
            assertEquals("STORED\r\n", proxy.call("set k2 0 0 4\r\nsame\r\n"));
            assertEquals("STORED\r\n", onC.call("set k1 0 0 5\r\nstale\r\n"));
        }
        Run verify = runToEnd("verify", "127.0.0.1:" + aPort, "--proxy", "127.0.0.1:" + proxyPort);
        assertEquals(0, verify.exitCode(), verify.stderr());
        assertTrue(verify.stdout().contains(" checked=2 ") && verify.stdout().contains(" value_differs=1 ")
                && verify.stdout().contains(" repaired=1 "), verify.stdout());
        try (TextClient onC = new TextClient(cPort)) {
            assertEquals(hit("k1", "main"), onC.call("get k1\r\n"), "the main's value won on the backup");
        }
        assertEquals(SIGTERM_EXIT, magent.terminate());
        assertNoStackTrace(magent.err());
    }

    private static String hit(String key, String value) {
        return "VALUE " + key + " 0 " + value.length() + "\r\n" + value + "\r\nEND\r\n";
    }

    private MemcachedProcess memcached() throws IOException {
        MemcachedProcess m = MemcachedProcess.start();
        servers.add(m);
        return m;
    }
}
