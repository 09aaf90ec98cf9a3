package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link MagentProxy#reload} under load: clients keep their connections and every request gets a valid
 * reply while the mains go from two to three and back, several times.
 */
class ReloadIT {
    private static final int CLIENTS = 4;
    private static final int ROUNDS = 3;

    private ProxyFixture cluster;

    @BeforeEach
    void start() throws IOException {
        cluster = ProxyFixture.start(3, 1);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private List<ServerAddress> mains(int n) {
        return cluster.mains.subList(0, n).stream().map(MemcachedProcess::address).toList();
    }

    @Test
    void reloadingUnderLoadLosesNoRequest() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.mains(mains(2)));
        ProxyConfig two = proxy.config();
        ProxyConfig three = two.toBuilder().mains(mains(3)).build();

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong requests = new AtomicLong();
        AtomicLong misses = new AtomicLong();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        CountDownLatch warmedUp = new CountDownLatch(CLIENTS);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < CLIENTS; t++) {
            int id = t;
            Thread thread = new Thread(() -> {
                try (TextClient c = ProxyFixture.client(proxy)) {
                    // bounded: stops when told, or after 200 000 pairs whatever happens
                    for (int i = 0; i < 200_000 && running.get(); i++) {
                        if (i == 50) {
                            warmedUp.countDown();
                        }
                        // every key is written once, so a reply is either its value or a miss: never another
                        // value, whichever main the current ring picks
                        String key = "reload-" + id + "-" + i;
                        String value = "v" + i;
                        String stored = c.set(key, value);
                        requests.incrementAndGet();
                        if (!stored.equals("STORED\r\n")) {
                            problems.add("set " + key + ": " + stored.trim());
                        }
                        String got = c.call("get " + key + "\r\n");
                        requests.incrementAndGet();
                        if (got.equals("END\r\n")) {
                            misses.incrementAndGet();
                        } else if (!got.equals("VALUE " + key + " 0 " + value.length() + "\r\n" + value + "\r\nEND\r\n")) {
                            problems.add("get " + key + ": " + got.trim());
                        }
                    }
                    // the connection is still the one opened at the start, and it still works
                    if (!c.call("version\r\n").startsWith("VERSION ")) {
                        problems.add("client " + id + ": version after the reloads failed");
                    }
                } catch (IOException | RuntimeException e) {
                    problems.add("client " + id + ": " + e);
                } finally {
                    warmedUp.countDown();
                }
            }, "reload-client-" + t);
            thread.start();
            threads.add(thread);
        }

        warmedUp.await();
        for (int round = 0; round < ROUNDS; round++) {
            long before = requests.get();
            proxy.reload(three);
            assertEquals(3, proxy.servers().stream().filter(s -> s.role() == Role.MAIN).count());
            awaitProgress(requests, before + 400);
            before = requests.get();
            proxy.reload(two);
            assertEquals(2, proxy.servers().stream().filter(s -> s.role() == Role.MAIN).count());
            awaitProgress(requests, before + 400);
        }
        running.set(false);
        for (Thread thread : threads) {
            thread.join(30_000);
            assertTrue(!thread.isAlive(), thread.getName() + " still running");
        }

        assertTrue(problems.isEmpty(), problems.size() + " bad replies, first: " + problems.peek());
        assertEquals(0, proxy.stats().unavailableErrors());
        assertEquals(CLIENTS, proxy.stats().totalConnections(), "no client had to reconnect");
        // the third main took part while it was in the ring
        try (TextClient third = ProxyFixture.direct(cluster.mains.get(2))) {
            String stats = third.call("stats\r\n");
            assertTrue(!stats.contains("STAT cmd_set 0\r\n"), "the third main got no write");
        }
        System.out.printf("MEASURED reload under load: %d requests over %d clients and %d reloads, %d misses "
                + "(a get racing its own set's copy to the backup after the key moved)%n",
                requests.get(), CLIENTS, 2 * ROUNDS, misses.get());
    }

    private static void awaitProgress(AtomicLong requests, long target) throws InterruptedException {
        MemcachedProcess.await("clients making progress", Duration.ofSeconds(30), () -> requests.get() >= target);
    }

    @Test
    void aReloadThatNeedsARestartIsRefusedAndTheOldConfigurationKept() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.mains(mains(2)));
        ProxyConfig before = proxy.config();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> proxy.reload(before.toBuilder().port(MemcachedProcess.freePort()).mains(mains(3)).build()));
        assertEquals("changing port needs a restart", e.getMessage());
        assertEquals(before, proxy.config());
        assertEquals(2, proxy.servers().stream().filter(s -> s.role() == Role.MAIN).count());
        try (TextClient c = ProxyFixture.client(proxy)) {
            assertEquals("STORED\r\n", c.set("still", "served"));
            assertEquals("served", c.get("still"));
        }
    }

    @Test
    void serversThatStayKeepTheirCounters() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.mains(mains(2)));
        try (TextClient c = ProxyFixture.client(proxy)) {
            for (int i = 0; i < 10; i++) {
                c.set("keep" + i, "x");
            }
        }
        long before = ProxyFixture.server(proxy, cluster.mains.get(0)).requests()
                + ProxyFixture.server(proxy, cluster.mains.get(1)).requests();
        proxy.reload(proxy.config().toBuilder().mains(mains(3)).build());
        long after = ProxyFixture.server(proxy, cluster.mains.get(0)).requests()
                + ProxyFixture.server(proxy, cluster.mains.get(1)).requests();
        assertEquals(10, before);
        assertEquals(before, after);
        assertEquals(0, ProxyFixture.server(proxy, cluster.mains.get(2)).requests());
    }

    @Test
    void reloadedProbeIntervalsApplyToTheNextOutage() throws Exception {
        // probing once an hour: a server marked down would stay out of service for the whole test
        MagentProxy proxy = cluster.proxy(c -> c.mains(mains(2)).probeInterval(Duration.ofHours(1))
                .probeMaxInterval(Duration.ofHours(1)));
        proxy.reload(proxy.config().toBuilder().probeInterval(Duration.ofMillis(50))
                .probeMaxInterval(Duration.ofMillis(200)).build());
        MemcachedProcess first = cluster.mains.get(0);
        BackendServer server = ProxyFixture.server(proxy, first);
        first.kill();
        try (TextClient c = ProxyFixture.client(proxy)) {
            int[] i = {0};
            MemcachedProcess.await("marked down", Duration.ofSeconds(10), () -> {
                try {
                    c.call("get probe" + i[0]++ + "\r\n");
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                return server.state() == BackendServer.State.DOWN;
            });
        }
        first.restart();
        MemcachedProcess.await("back in service by the reloaded 50 ms probes", Duration.ofSeconds(15),
                () -> server.state() == BackendServer.State.UP);
    }
}
