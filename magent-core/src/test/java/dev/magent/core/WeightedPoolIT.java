package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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

    private static long items(MemcachedProcess m) throws Exception {
        try (TextClient c = ProxyFixture.direct(m)) {
            for (String line : c.call("stats\r\n").split("\r\n")) {
                if (line.startsWith("STAT curr_items ")) {
                    return Long.parseLong(line.substring("STAT curr_items ".length()));
                }
            }
        }
        throw new AssertionError("no curr_items in stats of " + m.address());
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
        assertEquals(KEYS, items(fixture.backups.get(0)));
        assertTrue(Math.abs(onHeavy / (double) KEYS - 0.75) < 0.06, "weight 3 of 4 holds " + onHeavy + " of " + KEYS);

        // equal weights again: about a third of the heavy server's keys now belong to the light one, whose
        // misses are answered by the backup and repaired
        p.reload(p.config().toBuilder().weights(Map.of()).build());
        assertEquals(1, ProxyFixture.server(p, heavy).weight());
        try (TextClient c = ProxyFixture.client(p)) {
            for (int i = 0; i < KEYS; i++) {
                assertEquals("v" + i, c.get("w:" + i), "w:" + i);
            }
        }
        long repaired = p.stats().readRepairs();
        assertTrue(repaired > KEYS / 10, "read repairs after the reload: " + repaired);
        // the repairs are written after the client's reply
        MemcachedProcess.await("every moved key also on its new main", Duration.ofSeconds(10), () -> {
            try {
                return items(heavy) + items(light) == KEYS + repaired;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }
}
