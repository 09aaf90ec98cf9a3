package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Ketama weights end to end: where keys land on real memcached servers, and a weight changed by reload. */
class WeightedPoolIT {
    private static final int KEYS = 2000;
    private ProxyFixture fixture;

    @AfterEach
    void stop() {
        fixture.close();
    }

    /**
     * memcached's {@code curr_items} less the proxies' own records (docs/partitions.md); unchecked, so that a
     * wait's condition can call it.
     */
    private static long items(MemcachedProcess m) {
        try (TextClient c = ProxyFixture.direct(m)) {
            String items = ClusterObserver.stats(c).get("curr_items");
            if (items == null) {
                throw new AssertionError("no curr_items in stats of " + m.address());
            }
            return Long.parseLong(items) - ClusterObserver.proxyRecords(m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many of the test's keys the ring puts on its first server. */
    private static int onFirst(Ring ring) {
        int n = 0;
        for (int i = 0; i < KEYS; i++) {
            n += ring.indexFor(key(i)) == 0 ? 1 : 0;
        }
        return n;
    }

    private static Ring ring(MemcachedProcess first, int firstWeight, MemcachedProcess second) {
        return Ring.of(Algorithm.KETAMA, List.of(
                new Server(first.address().host(), first.address().port(), firstWeight),
                new Server(second.address().host(), second.address().port(), 1)));
    }

    private static byte[] key(int i) {
        return ("w:" + i).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aServerOfWeightThreeHoldsThreeQuartersOfTheKeys() throws Exception {
        fixture = ProxyFixture.start(2, 1);
        MemcachedProcess heavy = fixture.mains.get(0);
        MemcachedProcess light = fixture.mains.get(1);
        MagentProxy p = fixture.proxy(b -> b.ketama(true).weights(Map.of(heavy.address(), 3)));
        try (TextClient c = ProxyFixture.client(p)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("STORED\r\n", c.set("w:" + i, "v" + i));
            }
        }
        long onHeavy = items(heavy);
        assertEquals(KEYS, onHeavy + items(light));
        // exactly where the weighted ring of these addresses puts them
        Ring weighted = ring(heavy, 3, light);
        assertEquals(onFirst(weighted), onHeavy, "keys on the server of weight 3");
        MemcachedProcess backup = fixture.backups.get(0);
        // the backup is written alongside the main, not before the client's reply
        MemcachedProcess.await("every key on the backup", Duration.ofSeconds(10), () -> items(backup) == KEYS);
        // the ring's points hash the servers' ephemeral ports, so the share varies from run to run around
        // 3/4 (standard deviation about 0.025 with 240 and 80 points); equal weights would give about 1/2
        assertTrue(Math.abs(onHeavy / (double) KEYS - 0.75) < 0.12, "weight 3 of 4 holds " + onHeavy + " of " + KEYS);

        // equal weights again: about a third of the heavy server's keys now belong to the light one, whose
        // misses are answered by the backup and repaired
        p.reload(p.config().toBuilder().weights(Map.of()).build());
        assertEquals(1, ProxyFixture.server(p, heavy).weight());
        try (TextClient c = ProxyFixture.client(p)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("v" + i, c.get("w:" + i), "w:" + i);
            }
        }
        // a repair is counted when its add is answered, after the client's reply: wait until the count and
        // the servers agree, reading the count on both sides of the item count so that a repair landing in
        // between cannot make them agree by accident
        long[] repaired = {0};
        MemcachedProcess.await("every repaired key on its new main", Duration.ofSeconds(30), () -> {
            long before = p.stats().readRepairs();
            long stored = items(heavy) + items(light);
            long after = p.stats().readRepairs();
            repaired[0] = after;
            return before == after && stored == KEYS + after;
        });
        Ring equal = ring(heavy, 1, light);
        int moved = 0;
        for (int i = 0; i < KEYS; i++) {
            moved += weighted.indexFor(key(i)) != equal.indexFor(key(i)) ? 1 : 0;
        }
        assertTrue(moved > KEYS / 10, "keys moved by the reload: " + moved);
        // one repair per moved key; a get that times out on a stalled machine is answered by the backup
        // without a repair, so allow a few fewer
        assertTrue(repaired[0] <= moved && repaired[0] >= moved * 9 / 10,
                "read repairs " + repaired[0] + " for " + moved + " moved keys");
    }
}
