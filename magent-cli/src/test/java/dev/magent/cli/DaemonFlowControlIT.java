package dev.magent.cli;

import static dev.magent.core.ReplyReader.line;
import static dev.magent.core.ReplyReader.retrieval;
import static dev.magent.core.ReplyReader.sendInBackground;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.MemcachedProcess;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Flow control on the packaged daemon, started with plain {@code java -jar} as a user would (no heap or
 * direct-memory flags unless a case names them), over real memcached: two mains and a backup. Heavy
 * pipelines are slowed down, never answered with errors; a client that never reads its replies grows
 * neither the process nor anybody else's latency, and takes no server out of service.
 */
class DaemonFlowControlIT {
    private static final Path JAR = Path.of(System.getProperty("magent.jar", "target/magent.jar"));

    private final List<MemcachedProcess> servers = new ArrayList<>();
    private Process magent;
    private Path stderr;
    private int port;

    @BeforeEach
    void startServers() throws IOException {
        for (int i = 0; i < 3; i++) {
            servers.add(MemcachedProcess.start());
        }
    }

    @AfterEach
    void stopEverything() throws InterruptedException {
        if (magent != null) {
            magent.destroyForcibly();
            magent.waitFor(10, TimeUnit.SECONDS);
        }
        for (MemcachedProcess m : servers) {
            m.close();
        }
    }

    private void startMagent(String... jvmFlags) throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " missing: failsafe runs after package, which builds it");
        port = MemcachedProcess.freePort();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(jvmFlags));
        cmd.addAll(List.of("-jar", JAR.toString(), "-p", Integer.toString(port),
                "-s", "127.0.0.1:" + servers.get(0).port(), "-s", "127.0.0.1:" + servers.get(1).port(),
                "-b", "127.0.0.1:" + servers.get(2).port()));
        stderr = Files.createTempFile("magent-flow", ".err");
        magent = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(stderr.toFile()).start();
        Listening.await(magent, port);
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(60_000);
        return s;
    }

    private String call(String request) throws IOException {
        try (Socket s = connect()) {
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return line(new BufferedInputStream(s.getInputStream()));
        }
    }

    private Map<String, String> stats() throws IOException {
        return stats(port);
    }

    private static Map<String, String> stats(int port) throws IOException {
        Map<String, String> m = new HashMap<>();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write("stats\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = new BufferedInputStream(s.getInputStream());
            String l;
            while (!(l = line(in)).equals("END")) {
                String[] p = l.split(" ", 3);
                m.put(p[1], p[2]);
            }
        }
        return m;
    }

    private void assertEveryServerUp() throws IOException {
        Map<String, String> s = stats();
        for (int i = 1; i <= 3; i++) {
            assertTrue(s.get("matrix_" + i).contains("state=up"), s.get("matrix_" + i));
        }
        assertFalse(err().contains("is DOWN"), "a server left service:\n" + err());
    }

    private String err() throws IOException {
        return Files.readString(stderr);
    }

    private static byte[] repeat(String request, int times) {
        return request.repeat(times).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Opens {@code connections} connections, pipelines {@code getsEach} gets of k on each (all at once, from
     * writer threads), reads them with {@code threads} readers; returns how many replies were k's value.
     */
    private int valuesFromPipelines(int connections, int threads, int getsEach) throws Exception {
        List<Socket> conns = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int i = 0; i < connections; i++) {
                conns.add(connect());
            }
            byte[] requests = repeat("get k\r\n", getsEach);
            List<Future<Integer>> values = new ArrayList<>();
            int perThread = connections / threads;
            for (int t = 0; t < threads; t++) {
                List<Socket> mine = conns.subList(t * perThread, (t + 1) * perThread);
                values.add(pool.submit(() -> {
                    for (Socket s : mine) {
                        sendInBackground(s, requests);
                    }
                    int ok = 0;
                    for (Socket s : mine) {
                        InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 14);
                        for (int i = 0; i < getsEach; i++) {
                            if ("v".equals(retrieval(in))) {
                                ok++;
                            }
                        }
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : values) {
                total += f.get(300, TimeUnit.SECONDS);
            }
            return total;
        } finally {
            pool.shutdownNow();
            for (Socket s : conns) {
                s.close();
            }
        }
    }

    @Test
    void thirtyThousandPipelinedGetsAllAnswered() throws Exception {
        startMagent();
        assertEquals("STORED", call("set k 0 0 1\r\nv\r\n"));
        assertEquals(30_000, valuesFromPipelines(1, 1, 30_000), "values of 30,000 gets");
        assertEquals("0", stats().get("unavailable_errors"));
        assertEveryServerUp();
    }

    @Test
    void thirtyThousandPipelinedNoreplySetsAllStoredOnMainAndBackup() throws Exception {
        startMagent();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 30_000; i++) {
            sb.append("set nr").append(i).append(" 0 0 1 noreply\r\nx\r\n");
        }
        sb.append("version\r\n");
        try (Socket s = connect()) {
            sendInBackground(s, sb.toString().getBytes(StandardCharsets.US_ASCII));
            String version = line(new BufferedInputStream(s.getInputStream()));
            assertTrue(version.startsWith("VERSION "), version);
        }
        // version is answered after every set before it was answered by its main; the backup may lag
        long onMains = Long.parseLong(stats(servers.get(0).port()).get("curr_items"))
                + Long.parseLong(stats(servers.get(1).port()).get("curr_items"));
        assertEquals(30_000, onMains, "keys on the mains");
        MemcachedProcess.await("30,000 keys on the backup", java.time.Duration.ofSeconds(30),
                () -> backupItems() == 30_000);
        assertEquals("0", stats().get("unavailable_errors"));
        assertEveryServerUp();
    }

    /** The backup's items less the proxy's own records (the proxy list and each listed proxy's alive key). */
    private long backupItems() {
        try {
            int port = servers.get(2).port();
            String members = get(port, "__magent_proxies");
            long records = members == null ? 0 : 1 + members.split(" ").length;
            return Long.parseLong(stats(port).get("curr_items")) - records;
        } catch (IOException e) {
            return -1;
        }
    }

    /** A value straight from a memcached, or null on a miss. */
    private static String get(int port, String key) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("get " + key + "\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = new BufferedInputStream(s.getInputStream());
            String header = line(in);
            if (header.equals("END")) {
                return null;
            }
            String value = line(in);
            line(in); // END
            return value;
        }
    }

    @Test
    void sixConcurrentDeepPipelinesGetEveryValue() throws Exception {
        startMagent();
        assertEquals("STORED", call("set k 0 0 1\r\nv\r\n"));
        assertEquals(60_000, valuesFromPipelines(6, 6, 10_000), "values of 6 x 10,000 gets");
        assertEquals("0", stats().get("unavailable_errors"));
        assertEveryServerUp();
    }

    @Test
    void aThousandConnectionsEachPipeliningAThousandGets() throws Exception {
        startMagent();
        assertEquals("STORED", call("set k 0 0 1\r\nv\r\n"));
        assertEquals(1_000_000, valuesFromPipelines(1000, 20, 1000), "values of 1,000 x 1,000 gets");
        assertEquals("0", stats().get("unavailable_errors"));
        assertEveryServerUp();
    }

    /** The daemon's resident memory in bytes, from /proc. */
    private long rss() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(magent.pid()), "status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for " + magent.pid());
    }

    @ParameterizedTest(name = "java {0} -jar magent.jar")
    @ValueSource(strings = {"", "-Xmx256m"})
    void aClientThatNeverReadsGrowsNeitherTheProcessNorOthersLatency(String jvmFlags) throws Exception {
        startMagent(jvmFlags.isEmpty() ? new String[0] : jvmFlags.split(" "));
        byte[] big = new byte[500 * 1024];
        Arrays.fill(big, (byte) 'b');
        try (Socket s = connect()) {
            OutputStream out = s.getOutputStream();
            out.write(("set big 0 0 " + big.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(big);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("STORED", line(s.getInputStream()));
        }
        long rssBefore = rss();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong hostileConnections = new AtomicLong();
        Thread hostile = new Thread(() -> {
            byte[] gets = repeat("get big\r\n", 1000);
            while (running.get()) {
                try (Socket s = connect()) {
                    hostileConnections.incrementAndGet();
                    s.setSoTimeout(1000);
                    OutputStream out = s.getOutputStream();
                    while (running.get()) {
                        out.write(gets); // blocks once the proxy stops reading: that is the point
                    }
                } catch (IOException closedOrBlocked) {
                    // disconnected by the proxy (or the test ending): come back, as a hostile client would
                }
            }
        }, "never-reads");
        hostile.setDaemon(true);
        hostile.start();

        long maxRss = rssBefore;
        long maxRoundTripNanos = 0;
        int roundTrips = 0;
        List<String> errors = new ArrayList<>();
        try (Socket s = connect()) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (System.nanoTime() < deadline) {
                String v = Integer.toString(roundTrips);
                long start = System.nanoTime();
                out.write(("set other 0 0 " + v.length() + "\r\n" + v + "\r\nget other\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                String stored = line(in);
                String got = retrieval(in);
                maxRoundTripNanos = Math.max(maxRoundTripNanos, System.nanoTime() - start);
                if (!stored.equals("STORED") || !v.equals(got)) {
                    errors.add(stored + " / " + got);
                }
                roundTrips++;
                maxRss = Math.max(maxRss, rss());
                Thread.sleep(20); // a steady, light client: what matters is how long each round trip takes
            }
        } finally {
            running.set(false);
            hostile.interrupt();
        }
        Map<String, String> stats = stats();
        System.out.printf("MEASURED: never-reading client over 15 s with java %s -jar: RSS %d MiB before, "
                        + "%d MiB at most; other client %d round trips, %d errors, slowest %d ms; hostile "
                        + "connections %d, disconnected for the buffer limit %s%n", jvmFlags, rssBefore >> 20,
                maxRss >> 20, roundTrips, errors.size(), TimeUnit.NANOSECONDS.toMillis(maxRoundTripNanos),
                hostileConnections.get(), stats.get("clients_over_buffer_limit"));
        assertTrue(roundTrips > 100, "round trips: " + roundTrips);
        assertEquals(List.of(), errors);
        assertTrue(maxRss < 512L << 20, "RSS reached " + (maxRss >> 20) + " MiB");
        assertTrue(maxRoundTripNanos < TimeUnit.SECONDS.toNanos(1),
                "slowest round trip " + TimeUnit.NANOSECONDS.toMillis(maxRoundTripNanos) + " ms");
        assertEquals("0", stats.get("unavailable_errors"));
        assertEveryServerUp();
    }
}
