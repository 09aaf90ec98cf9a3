package dev.magent.core;

import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static dev.magent.core.ProxyFixture.server;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.SuspicionBoard;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * docs/partitions.md, "No stale reads across proxies", on real memcached: two proxies over the how-to's
 * servers (two mains, one backup) exchange their records of servers that missed writes. A cut link cannot
 * be made on loopback (PartitionIT cuts one between network namespaces); here proxy A takes main 1 out of
 * service by hand, exactly what its timeouts would do, and keeps it out (its probe waits a minute).
 */
class SuspicionBoardIT {
    private ProxyFixture cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A key the proxy places on {@code main}. */
    private static String keyOn(MagentProxy p, MemcachedProcess main, String prefix) {
        dev.magent.core.backend.Cluster placement = new dev.magent.core.backend.Cluster(p.config());
        for (int i = 0; ; i++) {
            String k = prefix + i;
            if (placement.mainFor(k.getBytes()).address().equals(main.address())) {
                return k;
            }
        }
    }

    private static String statsLine(MagentProxy p, String prefix) throws IOException {
        try (TextClient c = client(p)) {
            for (Map.Entry<String, String> e : ClusterObserver.stats(c).entrySet()) {
                if (e.getKey().startsWith(prefix)) {
                    return e.getKey() + " " + e.getValue();
                }
            }
        }
        return null;
    }

    /** A record as the server holds it; "" when absent. */
    private static String record(MemcachedProcess on, String key) throws IOException {
        try (TextClient c = direct(on)) {
            String v = c.get(key);
            return v == null ? "" : v;
        }
    }

    @Test
    void aWriteOneProxyFailedOverIsNeverReadStaleThroughTheOther() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        MemcachedProcess main1 = cluster.mains.get(0);
        MemcachedProcess backup = cluster.backups.get(0);
        MagentProxy a = cluster.proxy(c -> c.proxyId("proxy-a").probeInterval(Duration.ofSeconds(60))
                .probeMaxInterval(Duration.ofSeconds(60)));
        MagentProxy b = cluster.proxy(c -> c.proxyId("proxy-b"));
        SuspicionBoard boardA = a.suspicions();
        SuspicionBoard boardB = b.suspicions();
        MemcachedProcess.await("each proxy knows the other", Duration.ofSeconds(10),
                () -> !boardA.alone() && !boardB.alone());
        String members = record(backup, "__magent_proxies");
        assertTrue(members.contains("proxy-a") && members.contains("proxy-b"), members);

        String k = keyOn(a, main1, "susp-");
        String counter = keyOn(a, main1, "count-");
        try (TextClient ca = client(a); TextClient cb = client(b); TextClient onMain = direct(main1)) {
            assertEquals("STORED\r\n", cb.set(k, "old"));
            assertEquals("STORED\r\n", cb.set(counter, "10"));
            assertEquals("old", cb.get(k));

            BackendServer mainInA = server(a, main1);
            mainInA.markDown("test: as after proxy A's timeouts");
            long t0 = System.nanoTime();
            assertEquals("STORED\r\n", ca.set(k, "new"), "failed over to the backup by proxy A");
            long ackMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            // acknowledged only once proxy B could know: B reads the backup from here on
            assertEquals("new", cb.get(k), "proxy B right after A's acknowledgement");
            assertEquals("old", onMain.get(k), "main 1 itself still holds the old value");
            String suspect = statsLine(b, "suspect_" + (server(b, main1).id() + 1));
            assertNotNull(suspect, "proxy B shows the suspicion in stats");
            assertTrue(suspect.contains("by=proxy-a"), suspect);
            assertTrue(record(backup, "__magent_suspect_" + main1.address()).contains("proxy-a"));
            System.out.printf("MEASURED: proxy A acknowledged its first failed-over write after %d ms"
                    + " (record + validity %d ms)%n", ackMillis, boardA.validityMillis());

            // increments A acknowledged on the backup alone are not overwritten by main 1's stale count
            assertEquals("15\r\n", ca.call("incr " + counter + " 5\r\n"));
            assertEquals("16\r\n", cb.call("incr " + counter + " 1\r\n"), "B counts on the backup, not on main 1");
            MemcachedProcess.await("main 1 set to the backup's count", Duration.ofSeconds(5),
                    () -> "16".equals(get(onMain, counter)));

            // A takes main 1 back: its hint sweep rewrites what main 1 missed, then A clears its record
            mainInA.markUp();
            MemcachedProcess.await("proxy B reads main 1 again", Duration.ofSeconds(15),
                    () -> server(b, main1).servesReads());
            assertEquals("new", onMain.get(k), "main 1 caught up before B read it again");
            assertEquals("new", cb.get(k));
            assertFalse(record(backup, "__magent_suspect_" + main1.address()).contains("proxy-a"));
        }
    }

    @Test
    void theSuspicionOfAProxyThatDiedIsTakenOverAndTheServerResynced() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        MemcachedProcess main1 = cluster.mains.get(0);
        MemcachedProcess backup = cluster.backups.get(0);
        MagentProxy b = cluster.proxy(c -> c.proxyId("proxy-b"));
        String k = keyOn(b, main1, "ghost-");
        try (TextClient onMain = direct(main1); TextClient onBackup = direct(backup); TextClient cb = client(b)) {
            // a proxy "ghost" failed k over to the backup, recorded it, and died before replaying it
            assertEquals("STORED\r\n", onMain.set(k, "stale"));
            assertEquals("STORED\r\n", onBackup.set(k, "fresh"));
            assertEquals("STORED\r\n", onBackup.set("__magent_suspect_" + main1.address(), "ghost"));
            assertEquals("STORED\r\n", onBackup.set("__magent_proxies", "ghost"));
            MemcachedProcess.await("proxy B stops reading main 1", Duration.ofSeconds(5),
                    () -> !server(b, main1).servesReads());
            assertEquals("fresh", cb.get(k), "never main 1's stale value");
            MemcachedProcess.await("main 1 flushed and resynced", Duration.ofSeconds(20),
                    () -> "fresh".equals(get(onMain, k)));
            MemcachedProcess.await("proxy B reads main 1 again", Duration.ofSeconds(20),
                    () -> server(b, main1).servesReads());
            String left = record(backup, "__magent_suspect_" + main1.address());
            assertFalse(left.contains("ghost"), "the dead proxy's entry is gone: " + left);
            assertFalse(left.contains("proxy-b"), "and so is B's, once main 1 caught up: " + left);
            assertEquals("fresh", cb.get(k));
            assertEquals(1, server(b, main1).resyncProgress().copied(), "k copied back; the records are not data");
        }
    }

    @Test
    void aProxyRestartedWithTheSameIdTakesItsOldRunsSuspicionOverAsADeadProxys() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        MemcachedProcess main1 = cluster.mains.get(0);
        MemcachedProcess backup = cluster.backups.get(0);
        try (TextClient onBackup = direct(backup)) {
            // the previous run of "same" recorded main 1 and was killed before it replayed its hints
            assertEquals("STORED\r\n", onBackup.set("__magent_suspect_" + main1.address(), "same.0abcde"));
            assertEquals("STORED\r\n", onBackup.set("__magent_proxies", "same.0abcde"));
        }
        MagentProxy p = cluster.proxy(c -> c.proxyId("same"));
        MemcachedProcess.await("main 1 flushed, resynced and read again", Duration.ofSeconds(20),
                () -> server(p, main1).resyncProgress().runs() > 0 && server(p, main1).servesReads());
        assertFalse(record(backup, "__magent_suspect_" + main1.address()).contains("same.0abcde"));
    }

    @Test
    void aProxyAloneKeepsItsRecordsOffTheData() throws Exception {
        cluster = ProxyFixture.start(1, 1);
        MemcachedProcess main = cluster.mains.get(0);
        MemcachedProcess backup = cluster.backups.get(0);
        MagentProxy p = cluster.proxy(c -> c.proxyId("solo"));
        MemcachedProcess.await("the first poll", Duration.ofSeconds(5), () -> p.suspicions().alone());
        try (TextClient c = client(p)) {
            assertTrue(statsLine(p, "proxy_id").startsWith("proxy_id solo."), "the id and this run's own part");
            assertEquals("STORED\r\n", c.set("k", "v"));
            // the records stay out of data requests: per-server counts are the clients' alone
            assertEquals(1, server(p, backup).requests());
        }
        main.kill();
        MemcachedProcess.await("the main out of service", Duration.ofSeconds(5),
                () -> server(p, main).state() != BackendServer.State.UP);
        MemcachedProcess.await("its suspicion recorded on the backup", Duration.ofSeconds(5),
                () -> String.valueOf(get(backup, "__magent_suspect_" + main.address())).startsWith("solo."));
    }

    private static String get(TextClient c, String key) {
        try {
            return c.get(key);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String get(MemcachedProcess m, String key) {
        try {
            return record(m, key);
        } catch (IOException e) {
            return null;
        }
    }
}
