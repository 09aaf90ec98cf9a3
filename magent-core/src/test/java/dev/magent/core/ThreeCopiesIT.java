package dev.magent.core;

import static dev.magent.core.ClusterObserver.mainIndex;
import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.magent.core.backend.BackendServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three copies of every key on real memcached (docs/semantics.md, any number of copies): a main pool of
 * two, a first backup pool of two and a second of one. Losing a main and a first-pool backup loses no key;
 * a server restarted empty is refilled from whichever copies survive.
 */
class ThreeCopiesIT {
    private static final int KEYS = 200;

    private ProxyFixture cluster;
    private final List<MemcachedProcess> secondPool = new ArrayList<>();
    private MagentProxy proxy;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 2);
        secondPool.add(MemcachedProcess.start());
        proxy = cluster.proxy(c -> c.furtherBackupPools(List.of(List.of(secondPool.get(0).address()))));
        try (TextClient c = client(proxy)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("STORED\r\n", c.set("tc" + i, "v" + i));
            }
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        cluster.close();
        for (MemcachedProcess m : secondPool) {
            m.close();
        }
    }

    @Test
    void everyWriteReachesEveryCopy() throws Exception {
        try (TextClient onThird = direct(secondPool.get(0))) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("v" + i, onThird.get("tc" + i), "tc" + i + " on the second backup pool");
            }
        }
    }

    @Test
    void metaWritesReachEveryCopy() throws Exception {
        try (TextClient c = client(proxy)) {
            for (int i = 0; i < 20; i++) {
                String v = "m" + i;
                assertEquals("HD\r\n", c.call("ms tc" + i + " " + v.length() + "\r\n" + v + "\r\n"));
            }
            for (int i = 20; i < 40; i++) {
                assertEquals("HD\r\n", c.call("md tc" + i + "\r\n"));
            }
            for (int i = 40; i < 60; i++) {
                assertEquals("HD\r\n", c.call("ma tc_n" + i + " N0 J" + i + "\r\n"));
            }
        }
        // every copy gets the write itself (the client has its answer once the main answered)
        try (TextClient onThird = direct(secondPool.get(0))) {
            MemcachedProcess.await("meta writes on the second backup pool", Duration.ofSeconds(10), () -> {
                try {
                    for (int i = 0; i < 20; i++) {
                        if (!("m" + i).equals(onThird.get("tc" + i))) {
                            return false;
                        }
                    }
                    for (int i = 20; i < 40; i++) {
                        if (onThird.get("tc" + i) != null) {
                            return false;
                        }
                    }
                    for (int i = 40; i < 60; i++) {
                        if (!Integer.toString(i).equals(onThird.get("tc_n" + i))) {
                            return false;
                        }
                    }
                    return true;
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    @Test
    void aMainAndAFirstPoolBackupDownMetaReadsAndWritesGoOnOnTheThirdCopy() throws Exception {
        cluster.mains.get(0).kill();
        cluster.backups.get(0).kill();
        try (TextClient c = client(proxy)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("v" + i, mg(c, "tc" + i), "tc" + i);
            }
            for (int i = 0; i < KEYS; i++) {
                String v = "w" + i;
                assertEquals("HD\r\n", c.call("ms tc" + i + " " + v.length() + " T0\r\n" + v + "\r\n"), "tc" + i);
            }
            for (int i = 0; i < KEYS; i++) {
                assertEquals("w" + i, mg(c, "tc" + i), "tc" + i);
            }
            // a cas taken from the answering copy's mg matches there
            String reply = c.call("mg tc0 c\r\n");
            String cas = reply.trim().split(" ")[1].substring(1);
            assertEquals("HD\r\n", c.call("ms tc0 1 C" + cas + "\r\nz\r\n"));
            assertEquals("z", mg(c, "tc0"));
            assertEquals("VA 1\r\n", c.call("ma tc_c N0 J5 v\r\n"));
            assertEquals("5\r\n", c.readLine());
            assertEquals("HD\r\n", c.call("md tc1\r\n"));
            assertEquals("EN\r\n", c.call("mg tc1 v\r\n"));
        }
    }

    /** mg's value through a text client, or null for a miss. */
    private static String mg(TextClient c, String key) throws IOException {
        String head = c.call("mg " + key + " v\r\n");
        if (head.equals("EN\r\n")) {
            return null;
        }
        if (!head.startsWith("VA ")) {
            throw new IOException("unexpected reply to mg " + key + ": " + head);
        }
        String data = c.readLine();
        return data.substring(0, data.length() - 2);
    }

    @Test
    void aMainAndAFirstPoolBackupDownEveryKeyIsReadable() throws Exception {
        cluster.mains.get(0).kill();
        cluster.backups.get(0).kill();
        try (TextClient c = client(proxy)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("v" + i, c.get("tc" + i), "tc" + i);
            }
        }
    }

    @Test
    void aMainRestartedEmptyIsRefilledFromTheThirdCopy() throws Exception {
        MemcachedProcess a = cluster.mains.get(0);
        a.kill();
        cluster.backups.get(0).kill();
        downAfterTraffic(a);
        a.restart(); // empty; the only other copy of some of its keys is on the second backup pool
        List<String> onA = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
            if (mainIndex(cluster.mains, "tc" + i) == 0) {
                onA.add("tc" + i);
            }
        }
        await("the restarted main refilled with its " + onA.size() + " keys", Duration.ofSeconds(20),
                () -> holdsAll(a, onA));
    }

    @Test
    void aBackupRestartedEmptyIsRefilled() throws Exception {
        MemcachedProcess third = secondPool.get(0);
        third.kill();
        downAfterTraffic(third);
        third.restart();
        List<String> all = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
            all.add("tc" + i);
        }
        await("the restarted second-pool backup refilled with all " + KEYS + " keys", Duration.ofSeconds(20),
                () -> holdsAll(third, all));
    }

    /** Writes through the proxy until it has marked the killed server down (it then probes it). */
    private void downAfterTraffic(MemcachedProcess killed) throws Exception {
        BackendServer s = ProxyFixture.server(proxy, killed);
        try (TextClient c = client(proxy)) {
            await(killed.address() + " marked down", Duration.ofSeconds(10), () -> {
                try {
                    for (int i = 0; i < 10; i++) {
                        c.set("poke" + i, "x");
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                return s.state() == BackendServer.State.DOWN;
            });
        }
    }

    private static boolean holdsAll(MemcachedProcess m, List<String> keys) {
        try (TextClient d = direct(m)) {
            for (String k : keys) {
                if (!("v" + k.substring(2)).equals(d.get(k))) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false; // still starting
        }
    }
}
