package dev.magent.core;

import static dev.magent.core.ClusterObserver.mainIndex;
import static dev.magent.core.ClusterObserver.mg;
import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.recovery.VerifyProgress;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Anti-entropy on real memcached (docs/semantics.md, "Anti-entropy"): differences planted directly on a
 * main and the backup (a missing key, another value, other flags, a key the main lacks) are found with the
 * exact counts in stats and /metrics and repaired so that both copies agree, the main's copy winning; keys
 * written through the proxy while verify runs end with the client's last value on both copies.
 */
class VerifyIT {
    private ProxyFixture cluster;
    private MemcachedProcess a;
    private MemcachedProcess b;
    private MemcachedProcess backup;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        a = cluster.mains.get(0);
        b = cluster.mains.get(1);
        backup = cluster.backups.get(0);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private static String set(TextClient c, String key, String value, int flags) throws IOException {
        return c.call("set " + key + " " + flags + " 0 " + value.length() + "\r\n" + value + "\r\n");
    }

    /** {@code count} keys with the prefix whose main is {@code main} (0: a, 1: b). */
    private List<String> keysOn(int main, String prefix, int count) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count; i++) {
            if (mainIndex(cluster.mains, prefix + i) == main) {
                keys.add(prefix + i);
            }
        }
        return keys;
    }

    private static void assertSameItem(TextClient main, TextClient copy, String key) throws IOException {
        ClusterObserver.Item m = mg(main, key);
        ClusterObserver.Item c = mg(copy, key);
        assertNotNull(m, key + " on the main");
        assertNotNull(c, key + " on the backup");
        assertEquals(m.value(), c.value(), key);
        assertEquals(m.flags(), c.flags(), key);
    }

    @Test
    void plantedDifferencesOnAMainAreCountedAndRepairedTheMainWinning() throws Exception {
        int adminPort = MemcachedProcess.freePort();
        MagentProxy proxy = cluster.proxy(c -> c.admin(new ServerAddress("127.0.0.1", adminPort)));
        List<String> onA = keysOn(0, "va", 30);
        List<String> onB = keysOn(1, "vb", 10);
        try (TextClient c = client(proxy)) {
            for (String k : onA) {
                assertEquals("STORED\r\n", set(c, k, "value-" + k, 3));
            }
            for (String k : onB) {
                assertEquals("STORED\r\n", set(c, k, "value-" + k, 3));
            }
        }
        String missing = onA.get(0);
        String otherValue = onA.get(1);
        String otherFlags = onA.get(2);
        String extra = keysOn(0, "xa", 1).get(0);
        String extraOfB = keysOn(1, "xb", 1).get(0);
        try (TextClient d = direct(backup)) {
            assertEquals("DELETED\r\n", d.call("delete " + missing + "\r\n"));
            assertEquals("STORED\r\n", set(d, otherValue, "stale", 3));
            assertEquals("STORED\r\n", set(d, otherFlags, "value-" + otherFlags, 9));
            assertEquals("STORED\r\n", set(d, extra, "orphan", 0));
            assertEquals("STORED\r\n", set(d, extraOfB, "orphan of b", 0));
        }

        try (TextClient c = client(proxy)) {
            assertEquals("OK\r\n", c.call("magent verify " + a.address() + "\r\n"));
        }
        await("the verify of a ended", Duration.ofSeconds(30),
                () -> proxy.verifyProgress(a.address()).phase() == VerifyProgress.Phase.DONE);

        VerifyProgress p = proxy.verifyProgress(a.address());
        assertEquals(31, p.checked(), "a's 30 keys and the backup's key that belongs on a: " + p);
        assertEquals(1, p.missing(), p.toString());
        assertEquals(1, p.extra(), p.toString());
        assertEquals(1, p.valueDiffers(), p.toString());
        assertEquals(1, p.flagsDiffer(), p.toString());
        assertEquals(4, p.repaired(), p.toString());
        assertEquals(0, p.raced(), p.toString());
        assertEquals(0, p.failed(), p.toString());
        assertEquals(0, p.skipped(), p.toString());
        // a's dump, then the backup's keys that belong on a (its 30 once the missing one is back, and the extra)
        assertEquals(30 + 31, p.listed(), p.toString());

        try (TextClient onMain = direct(a); TextClient onBackup = direct(backup)) {
            for (String k : onA) {
                assertSameItem(onMain, onBackup, k);
                assertEquals("value-" + k, mg(onMain, k).value(), "the main is not written: " + k);
                assertEquals(3, mg(onBackup, k).flags(), k);
            }
            assertNull(mg(onBackup, extra), "the backup's copy of a key the main lacks is deleted");
            assertNull(mg(onMain, extra), "and not copied to the main");
            assertNotNull(mg(onBackup, extraOfB), "b's keys are not a's verify's business");
        }

        try (TextClient c = client(proxy)) {
            Map<String, String> stats = ClusterObserver.stats(c);
            String line = null;
            for (Map.Entry<String, String> e : stats.entrySet()) {
                if (e.getKey().startsWith("verify_") && e.getValue().startsWith(a.address() + " ")) {
                    line = e.getValue();
                }
            }
            assertNotNull(line, "stats shows the verify: " + stats);
            assertEquals("done", ClusterObserver.field(line, "phase"), line);
            assertEquals("31", ClusterObserver.field(line, "checked"), line);
            assertEquals("1", ClusterObserver.field(line, "missing"), line);
            assertEquals("1", ClusterObserver.field(line, "extra"), line);
            assertEquals("1", ClusterObserver.field(line, "value_differs"), line);
            assertEquals("1", ClusterObserver.field(line, "flags_differ"), line);
            assertEquals("4", ClusterObserver.field(line, "repaired"), line);
        }
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        String labels = "server=\"" + a.address() + "\",role=\"main\",pool=\"0\"";
        for (String[] outcome : new String[][] {{"checked", "31"}, {"missing", "1"}, {"extra", "1"},
                {"value_differs", "1"}, {"flags_differ", "1"}, {"repaired", "4"}, {"raced", "0"}}) {
            String sample = "magent_server_verify_keys{" + labels + ",outcome=\"" + outcome[0] + "\"} " + outcome[1];
            assertTrue(metrics.contains(sample + "\n"), sample + " in\n" + metrics);
        }
        assertTrue(metrics.contains("magent_server_verify_runs_total{" + labels + "} 1\n"), metrics);

        // a second run finds nothing left to repair
        proxy.verify(a.address()).get(30, TimeUnit.SECONDS);
        p = proxy.verifyProgress(a.address());
        assertEquals(30, p.checked(), p.toString());
        assertEquals(0, p.missing() + p.extra() + p.valueDiffers() + p.flagsDiffer() + p.repaired(), p.toString());
        assertEquals(2, p.runs());
    }

    @Test
    void verifyingTheBackupComparesEachKeyWithItsMain() throws Exception {
        MagentProxy proxy = cluster.proxy();
        List<String> onA = keysOn(0, "ba", 10);
        List<String> onB = keysOn(1, "bb", 10);
        try (TextClient c = client(proxy)) {
            for (String k : onA) {
                assertEquals("STORED\r\n", set(c, k, "value-" + k, 0));
            }
            for (String k : onB) {
                assertEquals("STORED\r\n", set(c, k, "value-" + k, 0));
            }
        }
        try (TextClient d = direct(backup)) {
            assertEquals("DELETED\r\n", d.call("delete " + onA.get(0) + "\r\n"));
            assertEquals("STORED\r\n", set(d, onB.get(0), "stale", 0));
        }
        proxy.verify(backup.address()).get(30, TimeUnit.SECONDS);
        VerifyProgress p = proxy.verifyProgress(backup.address());
        assertEquals(20, p.checked(), p.toString());
        assertEquals(1, p.missing(), p.toString());
        assertEquals(1, p.valueDiffers(), p.toString());
        assertEquals(2, p.repaired(), p.toString());
        try (TextClient onA1 = direct(a); TextClient onB1 = direct(b); TextClient onBackup = direct(backup)) {
            for (String k : onA) {
                assertSameItem(onA1, onBackup, k);
            }
            for (String k : onB) {
                assertSameItem(onB1, onBackup, k);
            }
        }
    }

    /** A key only a meta client can write (a space in it) is listed, compared and repaired in base64. */
    @Test
    void aBinaryKeyIsComparedAndRepaired() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.mains(List.of(a.address())));
        String b64 = java.util.Base64.getEncoder().encodeToString("two words".getBytes(StandardCharsets.US_ASCII));
        try (TextClient onMain = direct(a); TextClient onBackup = direct(backup)) {
            assertEquals("HD\r\n", onMain.call("ms " + b64 + " 4 b F5\r\nmain\r\n"));
            assertEquals("HD\r\n", onBackup.call("ms " + b64 + " 5 b F5\r\nstale\r\n"));
        }
        proxy.verify(a.address()).get(30, TimeUnit.SECONDS);
        VerifyProgress p = proxy.verifyProgress(a.address());
        assertEquals(1, p.checked(), p.toString());
        assertEquals(1, p.valueDiffers(), p.toString());
        assertEquals(1, p.repaired(), p.toString());
        try (TextClient onBackup = direct(backup)) {
            onBackup.send("mg " + b64 + " b v f\r\n");
            assertEquals("VA 4 f5\r\n", onBackup.readLine());
            assertEquals("main\r\n", onBackup.readLine());
        }
    }

    @Test
    void keysWrittenWhileVerifyRunsKeepTheClientsLastValueOnBothCopies() throws Exception {
        // slow enough (100 keys a second) that the writer below overlaps most comparisons and repairs
        MagentProxy proxy = cluster.proxy(c -> c.resyncRate(100));
        List<String> onA = keysOn(0, "wa", 200);
        try (TextClient c = client(proxy); TextClient d = direct(backup)) {
            for (String k : onA) {
                assertEquals("STORED\r\n", set(c, k, "v0-" + k, 0));
                assertEquals("STORED\r\n", set(d, k, "stale-" + k, 0));
            }
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> writerFailed = new AtomicReference<>();
        String[] last = new String[onA.size()];
        Thread writer = new Thread(() -> {
            try (TextClient c = client(proxy)) {
                for (int round = 1; !stop.get(); round++) {
                    // every fourth key per round, so that some keys keep their planted difference for a while
                    for (int i = round % 4; i < onA.size(); i += 4) {
                        String v = "w" + round + "-" + onA.get(i);
                        String r = set(c, onA.get(i), v, 0);
                        if (!r.equals("STORED\r\n")) {
                            throw new IOException(onA.get(i) + ": " + r);
                        }
                        last[i] = v;
                    }
                }
            } catch (Throwable t) {
                writerFailed.set(t);
            }
        }, "verify-it-writer");
        writer.start();
        CompletableFuture<Void> run = proxy.verify(a.address());
        try {
            run.get(60, TimeUnit.SECONDS);
        } finally {
            stop.set(true);
            writer.join(10_000);
        }
        assertNull(writerFailed.get(), () -> "the writer failed: " + writerFailed.get());
        VerifyProgress p = proxy.verifyProgress(a.address());
        assertEquals(200, p.checked() - p.rechecked(), p.toString());
        assertTrue(p.valueDiffers() > 0, "planted differences were found: " + p);
        assertEquals(0, p.failed(), p.toString());

        try (TextClient onMain = direct(a); TextClient onBackup = direct(backup)) {
            for (int i = 0; i < onA.size(); i++) {
                String k = onA.get(i);
                String expected = last[i] != null ? last[i] : "v0-" + k;
                ClusterObserver.Item m = mg(onMain, k);
                ClusterObserver.Item c = mg(onBackup, k);
                assertNotNull(m, k);
                assertEquals(expected, m.value(), "main: " + k + " " + p);
                assertNotNull(c, k);
                assertEquals(expected, c.value(), "backup: " + k + " " + p);
            }
        }
    }
}
