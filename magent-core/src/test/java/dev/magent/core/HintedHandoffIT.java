package dev.magent.core;

import static dev.magent.core.ClusterObserver.field;
import static dev.magent.core.ClusterObserver.mainIndex;
import static dev.magent.core.ClusterObserver.matrix;
import static dev.magent.core.ClusterObserver.stats;
import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.ResyncProgress;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hinted handoff (docs/reliability.md, "HintedHandoffIT"): a main stalled with SIGSTOP past the down
 * threshold misses overwrites and deletes; when it resumes, no reader ever sees what it missed, and the
 * main itself is brought up to date. Past the hint log's capacity the main is flushed and resynced.
 */
class HintedHandoffIT {
    private ProxyFixture cluster;
    private MemcachedProcess a;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        a = cluster.mains.get(0);
    }

    @AfterEach
    void stop() throws Exception {
        a.resume(); // never leave a stopped process behind a failed assertion
        cluster.close();
    }

    private List<String> keysOnA(String prefix, int count) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count; i++) {
            if (mainIndex(cluster.mains, prefix + i) == 0) {
                keys.add(prefix + i);
            }
        }
        return keys;
    }

    /** Stalls A and drives traffic at it until the proxy marks it down; the first requests time out. */
    private void stallUntilDown(MagentProxy proxy, TextClient c, List<String> overwriteFirst,
                                Map<String, String> expected) throws Exception {
        a.pause();
        BackendServer onA = ProxyFixture.server(proxy, a);
        int i = 0;
        // writes that time out on the stalled main are answered by the backup and hinted; memcached will
        // still apply them from its socket buffer when it resumes, which the catch-up must not mind
        for (; onA.state() != BackendServer.State.DOWN && i < 20; i++) {
            String key = overwriteFirst.get(i % overwriteFirst.size());
            String v = "timed-out-" + i;
            assertEquals("STORED\r\n", c.set(key, v), "a write whose main times out gets the backup's reply");
            expected.put(key, v);
        }
        assertEquals(BackendServer.State.DOWN, onA.state(), "A is down after " + i + " timed-out writes");
    }

    @Test
    void readersNeverSeeWhatAStalledMainMissed() throws Exception {
        // hinted keys are rewritten at the resync rate: 20/s stretches the catch-up over ~2 s of reads
        MagentProxy proxy = cluster.proxy(c -> c.resyncRate(20));
        List<String> keys = keysOnA("hh", 60);
        Map<String, String> expected = new LinkedHashMap<>(); // null: deleted
        try (TextClient c = client(proxy)) {
            for (String k : keys) {
                assertEquals("STORED\r\n", c.set(k, "old-" + k));
                expected.put(k, "old-" + k);
            }
            stallUntilDown(proxy, c, keys.subList(0, 5), expected);
            // down: writes go to the backup at once and are hinted
            for (int i = 5; i < 30; i++) {
                String k = keys.get(i);
                assertEquals("STORED\r\n", c.set(k, "new-" + k));
                expected.put(k, "new-" + k);
            }
            for (int i = 30; i < 45; i++) {
                String k = keys.get(i);
                assertEquals("DELETED\r\n", c.call("delete " + k + "\r\n"));
                expected.put(k, null);
            }
            String line = matrix(stats(c), a.address());
            assertEquals("down", field(line, "state"), line);
            long hinted = Long.parseLong(field(line, "hinted_keys"));
            assertTrue(hinted >= 40, "overwritten and deleted keys are hinted: " + line);
        }

        // a reader that keeps reading every key through the proxy while A resumes and catches up
        AtomicBoolean caughtUp = new AtomicBoolean();
        AtomicReference<String> violation = new AtomicReference<>();
        AtomicLong reads = new AtomicLong();
        AtomicLong readsDuringCatchUp = new AtomicLong();
        Thread reader = new Thread(() -> {
            try (TextClient r = client(proxy)) {
                long extraAfterCatchUp = 0;
                for (long n = 0; n < 200_000 && extraAfterCatchUp < 400 && violation.get() == null; n++) {
                    if (caughtUp.get()) {
                        extraAfterCatchUp++;
                    } else {
                        readsDuringCatchUp.incrementAndGet();
                    }
                    String k = keys.get((int) (n % keys.size()));
                    String got = r.get(k);
                    reads.incrementAndGet();
                    String want = expected.get(k);
                    if (want == null ? got != null : !want.equals(got)) {
                        violation.set("read " + n + " of " + k + " gave " + got + ", expected " + want
                                + " (A " + ProxyFixture.server(proxy, a).state() + ")");
                    }
                    if (n % 7 == 0) { // a multi-get across the hinted and clean keys too
                        List<String> some = List.of(keys.get((int) (n % 45)), keys.get(45 + (int) (n % 15)));
                        String multi = r.call("get " + String.join(" ", some) + "\r\n");
                        for (String s : some) {
                            String want2 = expected.get(s);
                            boolean has = multi.contains("VALUE " + s + " ");
                            if (want2 == null ? has : !multi.contains("VALUE " + s + " 0 " + want2.length()
                                    + "\r\n" + want2 + "\r\n")) {
                                violation.set("multi-get " + some + " gave " + multi + ", expected " + s + "=" + want2);
                            }
                        }
                    }
                }
            } catch (IOException e) {
                violation.set("reader failed: " + e);
            }
        }, "hinted-reader");
        reader.start();
        try {
            a.resume();
            await("A up with no hinted keys left (stats over the memcached port)", Duration.ofSeconds(20),
                    () -> violation.get() != null || ClusterObserver.upWithoutHints(proxy, a.address()));
            caughtUp.set(true);
            reader.join(60_000);
        } finally {
            caughtUp.set(true);
        }
        assertNull(violation.get());
        assertTrue(reads.get() >= 400, "the reader kept reading: " + reads.get());
        System.out.println("MEASURED: hinted handoff: " + readsDuringCatchUp.get() + " reads while the stalled main "
                + "resumed and caught up, " + reads.get() + " in all, none stale; " + proxy.resyncProgress(a.address()));
        assertTrue(readsDuringCatchUp.get() >= 100, "the reader overlapped the catch-up: " + readsDuringCatchUp.get());
        assertTrue(proxy.resyncProgress(a.address()).hintsResolved() >= 40, proxy.resyncProgress(a.address()).toString());

        // the main itself holds the new values and not the deleted keys
        try (TextClient onA = direct(a)) {
            for (Map.Entry<String, String> e : expected.entrySet()) {
                assertEquals(e.getValue(), onA.get(e.getKey()), "directly on A: " + e.getKey());
            }
        }
    }

    @Test
    void anOverflowingHintLogFlushesAndResyncsTheMain() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.hintCapacity(5));
        List<String> keys = keysOnA("ov", 80);
        Map<String, String> expected = new ConcurrentHashMap<>();
        try (TextClient c = client(proxy)) {
            for (String k : keys) {
                assertEquals("STORED\r\n", c.set(k, "old-" + k));
                expected.put(k, "old-" + k);
            }
            Map<String, String> timedOut = new LinkedHashMap<>();
            stallUntilDown(proxy, c, keys.subList(0, 3), timedOut);
            expected.putAll(timedOut);
            for (int i = 3; i < 30; i++) { // far more than 5
                assertEquals("STORED\r\n", c.set(keys.get(i), "new-" + keys.get(i)));
                expected.put(keys.get(i), "new-" + keys.get(i));
            }
            for (int i = 30; i < 36; i++) {
                assertEquals("DELETED\r\n", c.call("delete " + keys.get(i) + "\r\n"));
                expected.remove(keys.get(i));
            }
            String line = matrix(stats(c), a.address());
            assertEquals("1", field(line, "hints_overflowed"), line);
        }
        int runsBefore = proxy.resyncProgress(a.address()).runs();
        a.resume();
        await("A flushed, resynced and up", Duration.ofSeconds(30),
                () -> ClusterObserver.upWithoutHints(proxy, a.address())
                        && proxy.resyncProgress(a.address()).phase() == ResyncProgress.Phase.DONE);
        ResyncProgress p = proxy.resyncProgress(a.address());
        assertTrue(p.runs() > runsBefore, "a full resync ran: " + p);
        assertEquals(keys.size() - 6, p.copied(), "the whole shard was copied back after the flush: " + p);
        try (TextClient c = client(proxy)) {
            String resync = ClusterObserver.resyncLine(stats(c), a.address());
            assertNotNull(resync);
            assertEquals("done", field(resync, "phase"), resync);
            assertTrue(!matrix(stats(c), a.address()).contains("hints_overflowed"), "overflow cleared");
            for (String k : keys) {
                assertEquals(expected.get(k), c.get(k), "through the proxy: " + k);
            }
        }
        try (TextClient onA = direct(a)) {
            for (String k : keys) {
                assertEquals(expected.get(k), onA.get(k), "directly on A: " + k);
            }
        }
    }

    @Test
    void writesDuringTheResyncThatOverflowTheHintLogAreNotLost() throws Exception {
        // slow resync, small hint log: clients write more of A's keys during the catch-up than it holds
        // 30 keys/s: the copy of 150 keys lasts ~5 s, a window a busy CI machine cannot miss
        MagentProxy proxy = cluster.proxy(c -> c.hintCapacity(5).resyncRate(30));
        List<String> keys = keysOnA("ds", 150);
        try (TextClient c = client(proxy)) {
            for (String k : keys) {
                assertEquals("STORED\r\n", c.set(k, "old-" + k));
            }
            Map<String, String> ignored = new LinkedHashMap<>();
            stallUntilDown(proxy, c, keys.subList(0, 3), ignored);
            for (int i = 3; i < 20; i++) {
                assertEquals("STORED\r\n", c.set(keys.get(i), "stalled-" + keys.get(i)));
            }
            a.resume();
            await("A resyncing", Duration.ofSeconds(10),
                    () -> proxy.resyncProgress(a.address()).phase() == ResyncProgress.Phase.RESYNCING
                            && proxy.resyncProgress(a.address()).copied() >= 20);
            // mid-resync: some keys are already copied, some not; overwrite all of them
            for (String k : keys) {
                assertEquals("STORED\r\n", c.set(k, "during-" + k));
            }
        }
        await("A up", Duration.ofSeconds(30), () -> ProxyFixture.server(proxy, a).state() == BackendServer.State.UP
                && proxy.resyncProgress(a.address()).phase() == ResyncProgress.Phase.DONE);
        List<String> stale = new ArrayList<>();
        try (TextClient c = client(proxy)) {
            for (String k : keys) {
                String got = c.get(k);
                if (!("during-" + k).equals(got)) {
                    stale.add(k + "=" + got);
                }
            }
            String line = matrix(stats(c), a.address());
            assertTrue(stale.isEmpty(), stale.size() + " of " + keys.size() + " keys read stale through the proxy "
                    + "after the catch-up (" + line + "): " + stale.subList(0, Math.min(10, stale.size())));
        }
    }

    @Test
    void sustainedWritesThatOverflowEveryResyncNeverLeaveStaleReads() throws Exception {
        // a write rate the hint log cannot absorb during a resync, sustained until the main is back: however
        // often the catch-up must start over, the main may not serve an overwritten value afterwards
        MagentProxy proxy = cluster.proxy(c -> c.hintCapacity(5).resyncRate(200));
        List<String> keys = keysOnA("sw", 150);
        Map<String, String> last = new ConcurrentHashMap<>();
        try (TextClient c = client(proxy)) {
            for (String k : keys) {
                assertEquals("STORED\r\n", c.set(k, "old-" + k));
                last.put(k, "old-" + k);
            }
            Map<String, String> timedOut = new LinkedHashMap<>();
            stallUntilDown(proxy, c, keys.subList(0, 3), timedOut);
            last.putAll(timedOut);
            for (int i = 3; i < 20; i++) {
                assertEquals("STORED\r\n", c.set(keys.get(i), "stalled-" + keys.get(i)));
                last.put(keys.get(i), "stalled-" + keys.get(i));
            }
        }
        BackendServer onA = ProxyFixture.server(proxy, a);
        AtomicReference<String> writerFailure = new AtomicReference<>();
        AtomicLong writes = new AtomicLong();
        Thread writer = new Thread(() -> {
            try (TextClient w = client(proxy)) {
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                // bounded: until A is back in service (or 15 s); the last writes land just before that
                for (int n = 0; n < 1_000_000 && System.nanoTime() < deadline; n++) {
                    if (onA.state() == BackendServer.State.UP) {
                        break;
                    }
                    String k = keys.get(n % keys.size());
                    String v = "w" + n + "-" + k;
                    String r = w.set(k, v);
                    if (!r.equals("STORED\r\n")) {
                        writerFailure.set("set " + k + ": " + r);
                        return;
                    }
                    last.put(k, v);
                    writes.incrementAndGet();
                }
            } catch (IOException e) {
                writerFailure.set(e.toString());
            }
        }, "sustained-writer");
        a.resume();
        writer.start();
        writer.join(90_000);
        assertNull(writerFailure.get());
        await("A up with no hinted keys", Duration.ofSeconds(60), () -> ClusterObserver.upWithoutHints(proxy, a.address()));
        List<String> stale = new ArrayList<>();
        try (TextClient c = client(proxy)) {
            for (String k : keys) {
                String got = c.get(k);
                if (!last.get(k).equals(got)) {
                    stale.add(k + "=" + got + " (last written " + last.get(k) + ")");
                }
            }
        }
        System.out.println("MEASURED: sustained writes during the catch-up: " + writes.get() + " writes, "
                + proxy.resyncProgress(a.address()) + ", " + stale.size() + " keys stale afterwards");
        assertTrue(stale.isEmpty(), stale.size() + " of " + keys.size() + " keys read stale through the proxy "
                + "after the catch-up: " + stale.subList(0, Math.min(10, stale.size())));
    }
}
