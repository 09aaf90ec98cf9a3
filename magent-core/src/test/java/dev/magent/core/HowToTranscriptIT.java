package dev.magent.core;

import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The C magent how-to's test transcript, automated: two mains (A, B), one backup (C), proxies over them.
 * Where C magent answered misses after a main restarted empty, magent answers from the backup and
 * refills the main.
 */
class HowToTranscriptIT {
    private static final Map<String, String> VALUES = Map.of(
            "key1", "1", "key2", "22", "key3", "333", "key4", "4444", "key5", "55555");
    private static final List<String> ON_A = List.of("key2", "key4");
    private static final List<String> ON_B = List.of("key1", "key3", "key5");

    private ProxyFixture cluster;
    private MemcachedProcess a;
    private MemcachedProcess b;
    private MemcachedProcess c;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        a = cluster.mains.get(0);
        b = cluster.mains.get(1);
        c = cluster.backups.get(0);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    @Test
    void transcript() throws Exception {
        // resync off: this is the how-to's scenario fixed by read-repair alone (ResyncIT covers resync)
        MagentProxy proxy = cluster.proxy(c -> c.autoResync(false));
        try (TextClient client = client(proxy)) {
            String stats = client.call("stats\r\n");
            assertTrue(stats.contains("STAT matrix_1 127.0.0.1:" + a.port() + " role=main state=up"), stats);
            assertTrue(stats.contains("STAT matrix_2 127.0.0.1:" + b.port() + " role=main state=up"), stats);
            assertTrue(stats.contains("STAT matrix_3 127.0.0.1:" + c.port() + " role=backup state=up"), stats);
            assertTrue(stats.endsWith("END\r\n"));
            for (int i = 1; i <= 5; i++) {
                assertEquals("STORED\r\n", client.set("key" + i, VALUES.get("key" + i)));
            }
        }

        // each main holds exactly its shard, the backup holds all five
        try (TextClient onA = direct(a); TextClient onB = direct(b); TextClient onC = direct(c)) {
            for (String k : ON_A) {
                assertEquals(VALUES.get(k), onA.get(k), k + " on A");
                assertNull(onB.get(k), k + " not on B");
            }
            for (String k : ON_B) {
                assertEquals(VALUES.get(k), onB.get(k), k + " on B");
                assertNull(onA.get(k), k + " not on A");
            }
            for (String k : VALUES.keySet()) {
                // the backup is written alongside the main, not before the client's reply
                await(k + " on the backup", Duration.ofSeconds(5), () -> VALUES.get(k).equals(getQuietly(onC, k)));
            }
        }

        // B dies: all five keys still readable through the proxy
        b.kill();
        try (TextClient client = client(proxy)) {
            for (String k : VALUES.keySet()) {
                assertEquals(VALUES.get(k), client.get(k), k + " with B dead");
            }
            assertEquals("VALUE key1 0 1\r\n1\r\nVALUE key2 0 2\r\n22\r\nVALUE key5 0 5\r\n55555\r\nEND\r\n",
                    client.call("get key1 key2 key5\r\n"));
        }

        // B comes back empty: C magent answered misses here; magent answers and refills B
        b.restart();
        BackendServer bState = ProxyFixture.server(proxy, b);
        await("B back in service", Duration.ofSeconds(10), () -> bState.state() == BackendServer.State.UP);
        try (TextClient client = client(proxy)) {
            for (String k : VALUES.keySet()) {
                assertEquals(VALUES.get(k), client.get(k), k + " after B restarted empty");
            }
        }
        try (TextClient onB = direct(b)) {
            for (String k : ON_B) {
                await(k + " refilled on B", Duration.ofSeconds(5), () -> VALUES.get(k).equals(getQuietly(onB, k)));
            }
            for (String k : ON_A) {
                assertNull(onB.get(k), k + " must not be copied to B, it is A's");
            }
        }
        // counted when the proxy reads memcached's STORED, a moment after the value is visible on B
        await("the read repairs counted", Duration.ofSeconds(5), () -> proxy.stats().readRepairs() >= ON_B.size());
    }

    @Test
    void secondProxyAgreesOnEveryPlacement() throws Exception {
        MagentProxy first = cluster.proxy();
        MagentProxy second = cluster.proxy();
        try (TextClient one = client(first)) {
            for (int i = 0; i < 200; i++) {
                assertEquals("STORED\r\n", one.set("placement-" + i, "v" + i));
            }
        }
        // without the backup, the second proxy can only find each key where the first put it
        c.kill();
        try (TextClient two = client(second)) {
            for (int i = 0; i < 200; i++) {
                assertEquals("v" + i, two.get("placement-" + i), "placement-" + i);
            }
        }
    }

    private static String getQuietly(TextClient c, String key) {
        try {
            return c.get(key);
        } catch (Exception e) {
            return null;
        }
    }
}
