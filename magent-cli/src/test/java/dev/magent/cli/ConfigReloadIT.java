package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void sighupAndMagentReloadApplyTheFileAndABadFileIsRefused() throws Exception {
        int[] mains = {memcached(), memcached(), memcached()};
        int backup = memcached();
        int port = freePort();
        int admin = freePort();
        Path file = dir.resolve("magent.json");
        write(file, port, admin, backup, mains[0], mains[1]);
        Path log = dir.resolve("magent.log");
        Process magent = launch(log, "-c", file.toString());
        awaitListening(magent, port);
        awaitListening(magent, admin);
        assertEquals(2, mainCount(admin));
        try (Text client = new Text(port)) {
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
        try (Text client = new Text(port)) {
            assertEquals("VALUE a 0 1\r\n1\r\nEND\r\n", client.call("get a\r\n"));
            // magent reload over the memcached port: the same refusal, answered
            assertEquals("SERVER_ERROR reload refused: " + file + ": field 'servers.main[1]': expected host:port, "
                    + "got 'x'\r\n", client.call("magent reload\r\n"));
            // a change that needs a restart is refused before anything is applied
            write(file, freePort(), admin, backup, mains[0]);
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
        int port = freePort();
        Path log = dir.resolve("magent.log");
        Process magent = launch(log, "-p", Integer.toString(port), "-s", "127.0.0.1:" + memcached());
        awaitListening(magent, port);
        hup(magent);
        await("the warning", () -> read(log).contains("SIGHUP: nothing to reload"));
        try (Text client = new Text(port)) {
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

    private int memcached() throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of("memcached", "-U", "0", "-l", "127.0.0.1", "-p",
                Integer.toString(port), "-m", "64"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "root"));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        started.add(p);
        awaitListening(p, port);
        return port;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitListening(Process p, int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("exited with " + p.exitValue() + " before listening on " + port);
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        fail("nothing listening on " + port + " after 30 s");
    }

    /** One request, then the reply up to its last line. */
    private static final class Text implements AutoCloseable {
        private final Socket socket = new Socket();
        private final InputStream in;
        private final OutputStream out;

        Text(int port) throws IOException {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
            socket.setSoTimeout(30_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        String call(String request) throws IOException {
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            while (true) {
                String r = reply.toString(StandardCharsets.UTF_8);
                if (r.endsWith("\r\n") && (!r.startsWith("VALUE ") || r.endsWith("\r\nEND\r\n"))) {
                    return r;
                }
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed after: " + reply);
                }
                reply.write(b);
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
