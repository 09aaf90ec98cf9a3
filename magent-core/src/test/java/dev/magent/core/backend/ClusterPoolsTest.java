package dev.magent.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.ProxyConfig;
import dev.magent.core.Role;
import dev.magent.core.ServerAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Any number of copies: one ring per pool, a key's copy in each. */
class ClusterPoolsTest {
    private static ServerAddress a(String host) {
        return new ServerAddress(host, 11211);
    }

    private static ProxyConfig threePools() {
        return ProxyConfig.builder().mains(List.of(a("m1"), a("m2")))
                .backupPools(List.of(List.of(a("b1"), a("b2")), List.of(a("c1")))).build();
    }

    @Test
    void aKeyHasOneCopyPerPool() {
        Cluster c = new Cluster(threePools());
        assertEquals(3, c.copies());
        for (String k : List.of("a", "b", "c", "d", "e")) {
            byte[] key = k.getBytes(StandardCharsets.US_ASCII);
            assertSame(c.mainFor(key), c.copy(0, key));
            assertSame(c.backupFor(key), c.copy(1, key));
            assertEquals(0, c.copy(0, key).pool());
            assertEquals(1, c.copy(1, key).pool());
            assertEquals(a("c1"), c.copy(2, key).address());
            assertEquals(2, c.copy(2, key).pool());
            assertEquals(Role.BACKUP, c.copy(2, key).role());
        }
    }

    @Test
    void serverIdsRunOverThePoolsInOrder() {
        Cluster c = new Cluster(threePools());
        assertEquals(5, c.size());
        assertEquals(List.of(a("m1"), a("m2"), a("b1"), a("b2"), a("c1")),
                List.of(c.all()).stream().map(BackendServer::address).toList());
        for (int i = 0; i < c.size(); i++) {
            assertEquals(i, c.server(i).id());
        }
        assertEquals(3, c.backups().size(), "every backup pool's servers");
    }

    @Test
    void withoutBackupsThereIsOneCopy() {
        Cluster c = new Cluster(ProxyConfig.builder().mains(List.of(a("m1"))).build());
        assertEquals(1, c.copies());
        assertNull(c.backupFor("k".getBytes()));
    }

    @Test
    void aReloadKeepsAServersStateInTheSamePool() {
        Cluster before = new Cluster(threePools());
        before.find(a("c1")).markDown("test");
        Cluster after = new Cluster(threePools(), before);
        assertEquals(BackendServer.State.DOWN, after.find(a("c1")).state());
        assertTrue(after.carriedOver(after.find(a("c1")), before));
    }

    @Test
    void furtherPoolsNeedAFirst() {
        assertThrows(IllegalArgumentException.class, () -> ProxyConfig.builder().mains(List.of(a("m1")))
                .furtherBackupPools(List.of(List.of(a("c1")))).build());
    }

    @Test
    void aServerInTwoPoolsIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProxyConfig.builder()
                .mains(List.of(a("m1"))).backupPools(List.of(List.of(a("b1")), List.of(a("b1")))).build());
        assertTrue(e.getMessage().contains("more than one pool"), e.getMessage());
    }

    @Test
    void poolsListTheMainsThenEachBackupPool() {
        assertEquals(List.of(List.of(a("m1"), a("m2")), List.of(a("b1"), a("b2")), List.of(a("c1"))),
                threePools().pools());
        assertEquals(2, threePools().backupPools().size());
    }
}
