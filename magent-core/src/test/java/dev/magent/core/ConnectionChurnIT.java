package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.magent.protocol.testing.LeakGuard;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Connections opened and closed through the proxy, over and over, hold no buffer once they are gone:
 * clients that say {@code quit} (the proxy closes its side while a read of the next request is pending),
 * and backend connections closed by a reload while their reads are pending. Counts the pooled
 * allocator's live direct buffers before and after (every proxy channel allocates from it), then lets the
 * leak detector look before and after the proxy shuts down; then proxies shut down in the states where
 * issue 14's io_uring leak might hide (under load, right after reloads, with backend outages).
 * {@code -Dmagent.test.churn.connections=100000} and the other {@code magent.test.churn.*} properties
 * scale it up into the measurement of docs/benchmarks.md.
 */
class ConnectionChurnIT {
    private static final int CONNECTIONS = Integer.getInteger("magent.test.churn.connections", 2_000);
    private static final int RELOADS = Integer.getInteger("magent.test.churn.reloads", 50);
    /**
     * Buffers counted live after the churn that nobody holds: the event loops' thread caches keep freed
     * buffers for reuse, and the arenas count those as allocated (29 after 2,000 connections on either
     * transport); a leak per connection would be thousands.
     */
    private static final int SLACK = 64;

    private ProxyFixture cluster;

    @BeforeEach
    void start() throws IOException {
        cluster = ProxyFixture.start(3, 1);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    @ParameterizedTest
    @EnumSource(value = TransportChoice.class, names = {"IO_URING", "EPOLL"})
    void closedConnectionsHoldNoBuffer(TransportChoice choice) throws Exception {
        try {
            Transport.select(choice, Transport.Availability.NATIVE);
        } catch (IllegalStateException e) {
            assumeTrue(false, e.getMessage());
        }
        // both native transports whatever test.jvm.args pins: auto takes io_uring in production
        MagentProxy proxy = cluster.proxy(c -> c.transport(choice).mains(cluster.mains.subList(0, 2).stream()
                .map(MemcachedProcess::address).toList()));
        ProxyConfig two = proxy.config();
        ProxyConfig three = two.toBuilder().mains(cluster.mains.stream().map(MemcachedProcess::address).toList())
                .build();
        try (TextClient c = ProxyFixture.client(proxy)) {
            assertEquals("STORED\r\n", c.set("warm", "up"));
        }
        LeakGuard.provokeDetection();
        LeakGuard.takeReports();
        long liveBefore = liveDirectBuffers();
        long usedBefore = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        long t0 = System.nanoTime();
        byte[] quit = "get warm\r\nquit\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] reply = new byte[64];
        int port = ProxyFixture.port(proxy);
        for (int i = 0; i < CONNECTIONS; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                s.setSoTimeout(5_000);
                OutputStream out = s.getOutputStream();
                out.write(quit);
                InputStream in = s.getInputStream();
                while (in.read(reply) >= 0) {
                    // until the proxy closes: VALUE warm ..., END, then end of stream
                }
            }
        }
        for (int i = 0; i < RELOADS; i++) {
            proxy.reload(i % 2 == 0 ? three : two);
            try (TextClient c = ProxyFixture.client(proxy)) {
                assertEquals("up", c.get("warm"));
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        MemcachedProcess.await("the closed clients to be gone", Duration.ofSeconds(30),
                () -> proxy.stats().currentConnections() == 0);
        long liveAfter = awaitLiveAtMost(liveBefore + SLACK);
        long usedAfter = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        LeakGuard.provokeDetection();
        List<String> whileRunning = LeakGuard.takeReports();
        proxy.shutdown(Duration.ZERO);
        LeakGuard.provokeDetection();
        List<String> afterShutdown = LeakGuard.takeReports();
        System.out.printf("MEASURED churn on %s: %d quit connections and %d reloads in %.1f s; live pooled direct "
                        + "buffers %d -> %d (after shutdown %d), used direct memory %d -> %d KiB; leak reports "
                        + "while running %d, after shutdown %d%n",
                proxy.transport().wireName(), CONNECTIONS, RELOADS, seconds, liveBefore, liveAfter,
                liveDirectBuffers(), usedBefore >> 10, usedAfter >> 10, whileRunning.size(), afterShutdown.size());
        afterShutdown.stream().limit(2).forEach(r -> System.out.println("LEAK after shutdown: " + r));
        whileRunning.stream().limit(2).forEach(r -> System.out.println("LEAK while running: " + r));
        assertTrue(liveAfter - liveBefore <= SLACK,
                "live direct buffers grew from " + liveBefore + " to " + liveAfter);
        assertTrue(whileRunning.isEmpty(), whileRunning.size() + " buffers leaked while running");
        assertTrue(afterShutdown.isEmpty(), afterShutdown.size() + " buffers leaked at shutdown");
    }

    /**
     * A proxy shut down while its clients are busy leaves no buffer behind: every read it had pending on a
     * client or backend connection is released before the event loops are gone.
     */
    @Test
    void aProxyShutDownUnderLoadLeavesNoBuffer() throws Exception {
        shutdowns("under 4 busy clients", this::shutDownUnderLoad);
    }

    /**
     * A proxy shut down right after a reload, while the pools the reload replaced are still waiting out
     * their last replies (their reads pending on idle memcached connections), leaves no buffer behind.
     */
    @Test
    void aShutdownRightAfterAReloadLeavesNoBuffer() throws Exception {
        shutdowns("right after a reload", this::shutDownAfterReload);
    }

    /** ReloadIT's load, where the leak of issue 14 was seen: reloads while clients write and read. */
    @Test
    void aShutdownAfterReloadsUnderLoadLeavesNoBuffer() throws Exception {
        shutdowns("after reloads under load", this::shutDownAfterReloadsUnderLoad);
    }

    private interface Round {
        void run() throws Exception;
    }

    /**
     * Runs rounds that each start and shut down a proxy, and after each one (its proxy unreachable by then:
     * the round's frame is gone) asks the leak detector and counts the pooled allocator's live buffers.
     */
    private static void shutdowns(String how, Round round) throws Exception {
        int rounds = Integer.getInteger("magent.test.churn.shutdowns", 10);
        int leaked = 0;
        long stuck = 0;
        List<String> first = List.of();
        for (int i = 0; i < rounds; i++) {
            round.run();
            LeakGuard.provokeDetection();
            List<String> reports = LeakGuard.takeReports();
            if (!reports.isEmpty() && first.isEmpty()) {
                first = reports;
            }
            leaked += reports.size();
            // every event loop is gone, and their caches with them: a live buffer now is one never released
            stuck = Math.max(stuck, liveDirectBuffers());
        }
        System.out.printf("MEASURED shutdowns %s: %d proxies, %d buffers leaked, at most %d live pooled direct "
                + "buffers after a shutdown%n", how, rounds, leaked, stuck);
        assertTrue(first.isEmpty(), leaked + " buffers leaked over " + rounds + " shutdowns, e.g. " + first);
        assertEquals(0, stuck, "direct buffers still allocated after a shutdown");
    }

    private void shutDownUnderLoad() throws Exception {
        MagentProxy proxy = unheldProxy(cluster.config());
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong requests = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            Thread thread = new Thread(() -> {
                try (TextClient c = ProxyFixture.client(proxy)) {
                    for (int i = 0; i < 200_000 && running.get(); i++) {
                        c.set("churn-" + id + "-" + i, "v" + i);
                        c.call("get churn-" + id + "-" + i + "\r\n");
                        requests.incrementAndGet();
                    }
                } catch (IOException | RuntimeException e) {
                    // the proxy went away under the client: what this test does on purpose
                }
            }, "churn-client-" + t);
            thread.start();
            clients.add(thread);
        }
        try {
            MemcachedProcess.await("load through the proxy", Duration.ofSeconds(30), () -> requests.get() > 200);
        } finally {
            proxy.shutdown(Duration.ZERO);
            running.set(false);
        }
        for (Thread thread : clients) {
            thread.join(30_000);
            assertTrue(!thread.isAlive(), thread.getName() + " still running");
        }
    }

    private void shutDownAfterReloadsUnderLoad() throws Exception {
        List<ServerAddress> all = cluster.mains.stream().map(MemcachedProcess::address).toList();
        MagentProxy proxy = unheldProxy(cluster.config().mains(all.subList(0, 2)));
        ProxyConfig two = proxy.config();
        ProxyConfig three = two.toBuilder().mains(all).build();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong requests = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        try {
            for (int t = 0; t < 4; t++) {
                int id = t;
                Thread thread = new Thread(() -> {
                    try (TextClient c = ProxyFixture.client(proxy)) {
                        for (int i = 0; i < 200_000 && running.get(); i++) {
                            c.set("reload-" + id + "-" + i, "v" + i);
                            c.call("get reload-" + id + "-" + i + "\r\n");
                            requests.incrementAndGet();
                        }
                    } catch (IOException | RuntimeException e) {
                        // counted by the progress wait below, which then times out
                    }
                }, "churn-client-" + t);
                thread.start();
                clients.add(thread);
            }
            for (int r = 0; r < 6; r++) {
                long before = requests.get();
                proxy.reload(r % 2 == 0 ? three : two);
                MemcachedProcess.await("clients making progress", Duration.ofSeconds(30),
                        () -> requests.get() >= before + 200);
            }
        } finally {
            running.set(false);
            for (Thread thread : clients) {
                thread.join(30_000);
            }
            proxy.shutdown(Duration.ZERO);
        }
    }

    private void shutDownAfterReload() throws Exception {
        MagentProxy proxy = unheldProxy(cluster.config().mains(cluster.mains.subList(0, 2).stream()
                .map(MemcachedProcess::address).toList()));
        try (TextClient c = ProxyFixture.client(proxy)) {
            assertEquals("STORED\r\n", c.set("before-reload", "v"));
            proxy.reload(proxy.config().toBuilder().mains(cluster.mains.stream().map(MemcachedProcess::address)
                    .toList()).build());
        } finally {
            proxy.shutdown(Duration.ZERO);
        }
    }

    /**
     * A main that dies and comes back, again and again, under a running proxy (its connections broken by
     * the peer, probes refused, then a resync): nothing is leaked while the proxy runs.
     */
    @Test
    void outagesLeaveNoBufferBehind() throws Exception {
        int outages = Integer.getInteger("magent.test.churn.outages", 5);
        MagentProxy proxy = cluster.proxy(c -> c.mains(cluster.mains.subList(0, 2).stream()
                .map(MemcachedProcess::address).toList()));
        MemcachedProcess first = cluster.mains.get(0);
        dev.magent.core.backend.BackendServer server = ProxyFixture.server(proxy, first);
        LeakGuard.provokeDetection();
        LeakGuard.takeReports();
        int leaked = 0;
        List<String> firstReports = List.of();
        for (int i = 0; i < outages; i++) {
            first.kill();
            try (TextClient c = ProxyFixture.client(proxy)) {
                int[] n = {0};
                MemcachedProcess.await("marked down", Duration.ofSeconds(10), () -> {
                    try {
                        c.call("get outage" + n[0]++ + "\r\n");
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                    return server.state() == dev.magent.core.backend.BackendServer.State.DOWN;
                });
            }
            first.restart();
            MemcachedProcess.await("back in service", Duration.ofSeconds(15),
                    () -> server.state() == dev.magent.core.backend.BackendServer.State.UP);
            LeakGuard.provokeDetection();
            List<String> reports = LeakGuard.takeReports();
            if (!reports.isEmpty() && firstReports.isEmpty()) {
                firstReports = reports;
            }
            leaked += reports.size();
        }
        System.out.printf("MEASURED outages on %s: %d kills and restarts of a main under a running proxy, %d buffers "
                + "leaked while it ran%n", proxy.transport().wireName(), outages, leaked);
        assertTrue(firstReports.isEmpty(), leaked + " buffers leaked over " + outages + " outages, e.g. " + firstReports);
    }

    /**
     * A proxy the fixture does not hold: once shut down and dropped, everything it had becomes garbage, so
     * a buffer it lost at shutdown is reported by the next collection, not when the fixture is dropped.
     */
    private static MagentProxy unheldProxy(ProxyConfig.Builder config) throws IOException {
        return MagentProxy.start(config.build());
    }

    /**
     * The live count once it is at most {@code limit}, or after 20 s: the pools the last reloads replaced
     * hold their connections' read buffers until they retire (twice the request timeout after the reload),
     * and closes may still be completing on the loops.
     */
    private static long awaitLiveAtMost(long limit) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        long live = liveDirectBuffers();
        while (live > limit && System.nanoTime() < deadline) {
            Thread.sleep(50);
            live = liveDirectBuffers();
        }
        return live;
    }

    /** Direct buffers allocated from the pooled allocator and not yet released, over every arena. */
    static long liveDirectBuffers() {
        long live = 0;
        for (PoolArenaMetric arena : PooledByteBufAllocator.DEFAULT.metric().directArenas()) {
            live += arena.numActiveAllocations();
        }
        return live;
    }
}
