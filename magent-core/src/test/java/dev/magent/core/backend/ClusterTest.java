package dev.magent.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterTest {
    private static final ServerAddress A = new ServerAddress("10.0.0.1", 11211);
    private static final ServerAddress B = new ServerAddress("10.0.0.2", 11211);
    private static final ServerAddress C = new ServerAddress("10.0.0.3", 11211);
    private static final ServerAddress D = new ServerAddress("10.0.0.4", 11211);

    private static ProxyConfig weighted(Map<ServerAddress, Integer> weights) {
        return ProxyConfig.builder().mains(List.of(A, B)).backups(List.of(C, D)).ketama(true).weights(weights).build();
    }

    private static byte[] key(int i) {
        return ("key:" + i).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void keysGoWhereTheWeightedKetamaRingSays() {
        Cluster cluster = new Cluster(weighted(Map.of(A, 3, D, 2)));
        Ring mains = Ring.of(Algorithm.KETAMA, List.of(new Server("10.0.0.1", 11211, 3), Server.of("10.0.0.2", 11211)));
        Ring backups = Ring.of(Algorithm.KETAMA, List.of(Server.of("10.0.0.3", 11211), new Server("10.0.0.4", 11211, 2)));
        int onA = 0;
        int onD = 0;
        int keys = 20_000;
        for (int i = 0; i < keys; i++) {
            byte[] k = key(i);
            BackendServer main = cluster.mainFor(k);
            BackendServer backup = cluster.backupFor(k);
            assertEquals(mains.indexFor(k), main.indexInRole());
            assertEquals(backups.indexFor(k), backup.indexInRole());
            onA += main.address().equals(A) ? 1 : 0;
            onD += backup.address().equals(D) ? 1 : 0;
        }
        // shares of 3/4 and 2/3, within ketama's unevenness over two servers (D gets 0.61 of these keys)
        assertTrue(Math.abs(onA / (double) keys - 0.75) < 0.08, "A holds " + onA);
        assertTrue(Math.abs(onD / (double) keys - 0.667) < 0.08, "D holds " + onD);
        assertEquals(3, cluster.mains().get(0).weight());
        assertEquals(1, cluster.mains().get(1).weight());
        assertEquals(2, cluster.backups().get(1).weight());
    }

    @Test
    void aServerWhoseWeightChangesKeepsItsStateOnReload() {
        Cluster before = new Cluster(weighted(Map.of()));
        before.mains().get(0).markDown("test");
        Cluster after = new Cluster(weighted(Map.of(A, 5)), before);
        BackendServer a = after.mains().get(0);
        assertTrue(after.carriedOver(a, before));
        assertSame(before.mains().get(0).health(), a.health());
        assertEquals(BackendServer.State.DOWN, a.state());
        assertEquals(5, a.weight());
    }
}
