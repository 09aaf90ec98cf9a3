package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.magent.core.MemcachedProcess;
import dev.magent.core.TextClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged daemon with a configuration file: started with {@code -c}, reloaded with SIGHUP and with
 * {@code magent reload}, a bad file refused while the proxy keeps serving; the admin endpoint from the file.
 */
class ConfigReloadIT {
    private static final Path JAR = Path.of(System.getProperty("magent.jar", "target/magent.jar"));
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

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

    @Test
    void sighupAndMagentReloadApplyTheFileAndABadFileIsRefused() throws Exception {
        int[] mains = {memcached(), memcached(), memcached()};
        int backup = memcached();
        int port = MemcachedProcess.freePort();
        int admin = MemcachedProcess.freePort();
        Path file = dir.resolve("magent.json");
        write(file, port, admin, backup, mains[0], mains[1]);
        Path log = dir.resolve("magent.log");
        Process magent = launch(log, "-c", file.toString());
        Listening.await(magent, port);
        Listening.await(magent, admin);
        assertEquals(2, mainCount(admin));
        try (TextClient client = client(port)) {
            assertEquals("STORED\r\n", client.call("set a 0 0 1\r\n1\r\n"));
        }

        // SIGHUP: three mains
        write(file, port, admin, backup, mains[0], mains[1], mains[2]);
        hup(magent);
        await("three mains after SIGHUP", () -> mainCount(admin) == 3);
        await("the reload logged", () -> read(log).contains("configuration reloaded from " + file));

        // a bad file: refused and logged, the three mains stay, the proxy still serves
        Files.writeString(file, "{\"servers\": {\"main\": [\"127.0.0.1:" + mains[0] + "\", \"x\"]}}");
        hup(magent);
        await("the refusal logged", () -> read(log).contains("configuration reload refused: " + file
                + ": field 'servers.main[1]': expected host:port, got 'x'; the configuration in force is kept"));
        assertEquals(3, mainCount(admin));
        try (TextClient client = client(port)) {
            assertEquals("VALUE a 0 1\r\n1\r\nEND\r\n", client.call("get a\r\n"));
            // magent reload over the memcached port: the same refusal, answered
            assertEquals("SERVER_ERROR reload refused: " + file + ": field 'servers.main[1]': expected host:port, "
                    + "got 'x'\r\n", client.call("magent reload\r\n"));
            // a change that needs a restart is refused before anything is applied
            write(file, MemcachedProcess.freePort(), admin, backup, mains[0]);
            assertEquals("SERVER_ERROR reload refused: changing port needs a restart\r\n",
                    client.call("magent reload\r\n"));
            // and a good one is applied, on the same connection
            write(file, port, admin, backup, mains[0]);
            assertEquals("OK\r\n", client.call("magent reload\r\n"));
            await("one main after magent reload", () -> mainCount(admin) == 1);
            assertEquals("VALUE a 0 1\r\n1\r\nEND\r\n", client.call("get a\r\n"), "from the backup or its main");
        }
        assertTrue(magent.isAlive(), "SIGHUP does not stop magent");
        magent.destroy();
        assertTrue(magent.waitFor(20, TimeUnit.SECONDS));
        assertFalse(read(log).contains("\tat "), "no stack trace:\n" + read(log));
    }

    @Test
    void withoutAFileSighupOnlyLogs() throws Exception {
        int port = MemcachedProcess.freePort();
        Path log = dir.resolve("magent.log");
        Process magent = launch(log, "-p", Integer.toString(port), "-s", "127.0.0.1:" + memcached());
        Listening.await(magent, port);
        hup(magent);
        await("the warning", () -> read(log).contains("SIGHUP: nothing to reload"));
        try (TextClient client = client(port)) {
            assertEquals("SERVER_ERROR reload refused: magent was started without a configuration file (-c)\r\n",
                    client.call("magent reload\r\n"));
        }
        assertTrue(magent.isAlive());
    }

    /** A configuration file over these ports; the first main ports are the mains. */
    private static void write(Path file, int port, int admin, int backup, int... mains) throws IOException {
        StringBuilder list = new StringBuilder();
        for (int m : mains) {
            list.append(list.length() == 0 ? "" : ", ").append("\"127.0.0.1:").append(m).append('"');
        }
        Files.writeString(file, """
                {
                  "listen": {"address": "127.0.0.1", "port": %d},
                  "servers": {"main": [%s], "backup": ["127.0.0.1:%d"]},
                  "timeouts": {"request_ms": 1000, "shutdown_grace_s": 1},
                  "health_check": {"probe_interval_ms": 50},
                  "admin": "127.0.0.1:%d"
                }
                """.formatted(port, list, backup, admin));
    }

    private static int mainCount(int admin) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/stats"))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            int n = 0;
            for (JsonNode s : json.readTree(r.body()).get("servers")) {
                n += s.get("role").asText().equals("main") ? 1 : 0;
            }
            return n;
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static void hup(Process p) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -HUP");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private Process launch(Path log, String... args) throws IOException {
        assertTrue(Files.isRegularFile(JAR), JAR + " missing: failsafe runs after package, which builds it");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(p);
        return p;
    }

    private int memcached() throws IOException {
        MemcachedProcess m = MemcachedProcess.start();
        servers.add(m);
        return m.port();
    }

    /** Reads wait up to 30 s: a reply may wait for a reload in progress on a busy machine. */
    private static TextClient client(int port) throws IOException {
        return new TextClient(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), Duration.ofSeconds(30));
    }
}
