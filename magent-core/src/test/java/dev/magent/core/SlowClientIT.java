package dev.magent.core;

import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that misbehave slowly or greedily (docs/reliability.md, "SlowClientIT"): idle half-requests are
 * closed and their resources released; connections beyond the limit are refused without harming the
 * others; a huge declared value length is refused before anything is allocated, and the connection then
 * behaves exactly as memcached's own does (compared byte for byte with memcached 1.6).
 */
class SlowClientIT {
    private static final Duration IDLE = Duration.ofSeconds(1);

    private ProxyFixture cluster;
    private MemcachedProcess reference;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        reference = cluster.reference(); // memcached alone, to compare byte for byte
    }

    @AfterEach
    void stop() throws Exception {
        cluster.close();
    }

    private static int curr(TextClient c) throws IOException {
        return Integer.parseInt(ClusterObserver.stats(c).get("curr_connections"));
    }

    @Test
    void halfRequestsAreClosedAfterTheIdleTimeoutAndTheirResourcesReleased() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.idleTimeout(IDLE));
        List<TextClient> idle = new ArrayList<>();
        String[] halves = {"get half", "set k 0 0 10\r\nabc", "set k 0 0", "g", "gets a b c d"};
        try {
            for (int i = 0; i < 40; i++) {
                TextClient c = client(proxy);
                c.send(halves[i % halves.length]);
                idle.add(c);
            }
            long t0 = System.nanoTime(); // the last half-request was just sent
            // (not waiting for all 40 to be counted: on a loaded machine the first may already be idle)
            await("every half-request client accepted", Duration.ofSeconds(10),
                    () -> proxy.stats().totalConnections() >= 40);
            try (TextClient busy = client(proxy)) {
                // a client that keeps talking is not idle: it outlives the others
                for (int i = 0; proxy.stats().currentConnections() > 1 && i < 1_000; i++) {
                    assertEquals("STORED\r\n", busy.set("busy", "v" + i));
                    Thread.sleep(IDLE.toMillis() / 4); // the point: a pace slower than nothing, faster than idle
                }
                long waited = System.nanoTime() - t0;
                assertEquals(1, proxy.stats().currentConnections(), "only the busy client is left");
                assertEquals(1, curr(busy), "stats curr_connections drops as well");
                assertTrue(waited < IDLE.toNanos() + Duration.ofSeconds(4).toNanos(),
                        "closed about the idle timeout after: " + waited / 1e6 + " ms");
                System.out.printf("MEASURED: 40 half-request clients closed %.0f ms after they went quiet "
                        + "(idle timeout %d ms)%n", waited / 1e6, IDLE.toMillis());
            }
            for (TextClient c : idle) {
                assertTrue(c.isClosedByServer(), "the idle client was closed by the proxy");
            }
        } finally {
            for (TextClient c : idle) {
                c.close();
            }
        }
        await("every connection released", Duration.ofSeconds(5), () -> proxy.stats().currentConnections() == 0);
    }

    @Test
    void connectionsBeyondTheLimitAreRefusedWhileManyOthersWork() throws Exception {
        int limit = 40;
        // backend timing is not the point here: a generous timeout keeps a loaded 2-core machine from failing it
        MagentProxy proxy = cluster.proxy(c -> c.maxConnections(limit).requestTimeout(Duration.ofSeconds(2)));
        List<TextClient> admitted = new ArrayList<>();
        List<String> problems = new CopyOnWriteArrayList<>();
        AtomicLong refused = new AtomicLong();
        try {
            for (int i = 0; i < limit; i++) {
                TextClient c = client(proxy);
                assertTrue(c.call("version\r\n").startsWith("VERSION "), "client " + i + " admitted");
                admitted.add(c);
            }
            // the admitted clients work while 4 threads hammer the proxy with 100 connections too many
            List<Thread> threads = new ArrayList<>();
            // 8 threads drive the 40 admitted connections in turn (threads are not the point: connections are)
            for (int t = 0; t < 8; t++) {
                int first = t;
                threads.add(new Thread(() -> {
                    for (int n = 0; n < 100; n++) {
                        for (int id = first; id < limit; id += 8) {
                            TextClient c = admitted.get(id);
                            try {
                                String v = "c" + id + "-" + n;
                                String r = c.set("lim" + id, v);
                                String got = c.get("lim" + id);
                                if (!r.equals("STORED\r\n") || !v.equals(got)) {
                                    problems.add("client " + id + ": " + r.trim() + " / " + got);
                                }
                            } catch (IOException e) {
                                problems.add("client " + id + " failed: " + e);
                                return;
                            }
                        }
                    }
                }));
            }
            for (int t = 0; t < 4; t++) {
                threads.add(new Thread(() -> {
                    for (int n = 0; n < 25; n++) {
                        try (TextClient extra = client(proxy)) {
                            String line = extra.readLine();
                            if (!line.equals("ERROR Too many open connections\r\n")) {
                                problems.add("an extra connection got " + line.trim());
                            } else if (!extra.isClosedByServer()) {
                                problems.add("an extra connection was refused but left open");
                            } else {
                                refused.incrementAndGet();
                            }
                        } catch (IOException e) {
                            problems.add("an extra connection failed instead of being refused: " + e);
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join(60_000);
                assertTrue(!t.isAlive(), "a client hung");
            }
            if (!problems.isEmpty()) {
                fail(problems.size() + " problems: " + problems.subList(0, Math.min(10, problems.size())));
            }
            assertEquals(100, refused.get());
            assertTrue(proxy.stats().rejectedConnections() >= 100);
            await("refused connections released", Duration.ofSeconds(5),
                    () -> proxy.stats().currentConnections() == limit);
            try (TextClient c = admitted.get(0)) {
                assertEquals(limit, curr(c), "stats counts the admitted clients only");
            }
            admitted.remove(0);
            await("the closed client released", Duration.ofSeconds(5),
                    () -> proxy.stats().currentConnections() == limit - 1);
            // a freed slot is usable again
            try (TextClient again = client(proxy)) {
                assertTrue(again.call("version\r\n").startsWith("VERSION "));
            }
        } finally {
            for (TextClient c : admitted) {
                c.close();
            }
        }
    }

    // ---- huge declared lengths, compared with memcached itself ---------------------------------------------

    /**
     * Sends {@code head}, then {@code bodyLength} filler bytes, then {@code tail} (from another thread, so a
     * server that answers early cannot block us), and reads replies until a VERSION line; returns them with
     * the VERSION line normalised.
     */
    private static String exchange(int port, String head, long bodyLength, String tail, Runnable midway)
            throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            Throwable[] writeFailure = {null};
            Thread writer = new Thread(() -> {
                try {
                    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                    byte[] chunk = new byte[1 << 20];
                    java.util.Arrays.fill(chunk, (byte) 'x');
                    long left = bodyLength;
                    boolean reported = false;
                    while (left > 0) {
                        int n = (int) Math.min(left, chunk.length);
                        out.write(chunk, 0, n);
                        left -= n;
                        if (!reported && midway != null && bodyLength - left >= Math.min(bodyLength / 2, 256L << 20)) {
                            out.flush();
                            midway.run();
                            reported = true;
                        }
                    }
                    out.write(tail.getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                } catch (Throwable t) {
                    writeFailure[0] = t;
                }
            }, "huge-writer");
            writer.start();
            StringBuilder replies = new StringBuilder();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                int b = in.read();
                if (b < 0) {
                    replies.append("<closed>");
                    break;
                }
                line.write(b);
                if (b == '\n') {
                    String l = line.toString(StandardCharsets.ISO_8859_1);
                    line.reset();
                    if (l.startsWith("VERSION ")) {
                        replies.append("VERSION <v>\r\n");
                        break;
                    }
                    replies.append(l);
                }
            }
            writer.join(60_000);
            if (writeFailure[0] != null && !replies.toString().endsWith("<closed>")) {
                throw new AssertionError("writing failed", writeFailure[0]);
            }
            return replies.toString();
        }
    }

    private void assertSameAsMemcached(MagentProxy proxy, String head, long bodyLength, String tail) throws Exception {
        String fromMemcached = exchange(reference.port(), head, bodyLength, tail, null);
        long[] grew = {0};
        long heapBefore = ClusterObserver.usedHeapAfterGc();
        long directBefore = ClusterObserver.nettyDirectMemory();
        String fromProxy = exchange(ProxyFixture.port(proxy), head, bodyLength, tail, () -> {
            // midway through the declared block: the proxy must not be holding it
            long heap = ClusterObserver.usedHeapAfterGc() - heapBefore;
            long direct = ClusterObserver.nettyDirectMemory() - directBefore;
            grew[0] = Math.max(heap, direct);
        });
        String what = head.trim().replace("\r\n", "\\r\\n") + " + " + bodyLength + " bytes";
        assertEquals(fromMemcached, fromProxy, "the proxy answers " + what + " as memcached does");
        assertTrue(grew[0] < 32L << 20, "memory grew by " + (grew[0] >> 20) + " MiB while swallowing " + what);
        System.out.printf("MEASURED: %s -> %s (memory growth midway %d KiB)%n", what,
                fromProxy.replace("\r\n", "\\r\\n"), grew[0] >> 10);
    }

    @Test
    void hugeDeclaredLengthsAreRefusedWithoutAllocatingAndTheConnectionCarriesOn() throws Exception {
        MagentProxy proxy = cluster.proxy();
        // memcached 1.6.18: a length that overflows its int is a bad command line, answered at once
        assertSameAsMemcached(proxy, "set huge1 0 0 4294967295\r\n", 0, "get huge1\r\nversion\r\n");
        assertSameAsMemcached(proxy, "set huge1 0 0 2147483648\r\n", 0, "get huge1\r\nversion\r\n");
        // a length above the item size limit: SERVER_ERROR object too large for cache, after swallowing the
        // block; the next command is read after it
        assertSameAsMemcached(proxy, "set huge2 0 0 2000000\r\n", 2_000_000, "\r\nget huge2\r\nversion\r\n");
        assertSameAsMemcached(proxy, "set huge3 0 0 2000000000\r\n", 2_000_000_000L, "\r\nget huge3\r\nversion\r\n");
        // and the connection behaves afterwards
        try (TextClient c = client(proxy)) {
            assertEquals("STORED\r\n", c.set("huge-after", "fine"));
            assertEquals("fine", c.get("huge-after"));
        }
    }

    @Test
    void aTooLargeSetLeavesNoStaleValueBehindAsInMemcached() throws Exception {
        MagentProxy proxy = cluster.proxy();
        try (TextClient direct = new TextClient(reference.port()); TextClient c = client(proxy)) {
            assertEquals("STORED\r\n", direct.set("stale", "old"));
            assertEquals("STORED\r\n", c.set("stale", "old"));
        }
        // memcached unlinks the old item when a set is refused as too large ("avoid stale data persisting in
        // cache because we failed alloc"): the client's replace failed, and it must not read the old value
        String fromMemcached = exchange(reference.port(), "set stale 0 0 2000000\r\n", 2_000_000,
                "\r\nget stale\r\nversion\r\n", null);
        String fromProxy = exchange(ProxyFixture.port(proxy), "set stale 0 0 2000000\r\n", 2_000_000,
                "\r\nget stale\r\nversion\r\n", null);
        assertEquals("SERVER_ERROR object too large for cache\r\nEND\r\nVERSION <v>\r\n", fromMemcached,
                "memcached 1.6's behaviour");
        assertEquals(fromMemcached, fromProxy);
    }
}
