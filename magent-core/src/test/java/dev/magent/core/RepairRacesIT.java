package dev.magent.core;

import static dev.magent.core.ClusterObserver.mg;
import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.ResyncProgress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12, cases 1, 2, 4 and 5 on real memcached 1.6.18 (docs/semantics.md, "Read-repair", "Rejoin",
 * "Reads"): a repair or a resync copy never brings back what a later delete or flush_all removed; gat on
 * the repair path and gat/gats answered by the backup leave every copy with the command's TTL.
 */
class RepairRacesIT {
    private static final int TRIALS = 10;
    private ProxyFixture cluster;

    @AfterEach
    void stop() {
        cluster.close();
    }

    private static String set(TextClient c, String key, String value, int exptime) throws java.io.IOException {
        return c.call("set " + key + " 0 " + exptime + " " + value.length() + "\r\n" + value + "\r\n");
    }

    /**
     * Case 1: k is on the backup only (the main evicted it); the backup is stopped (SIGSTOP) while the
     * repair's mg waits on it; another client deletes k (or flushes); then the backup answers the mg with
     * the old value. One event loop, so the mg and the delete share the backup connection and reach it in
     * that order, as in the issue.
     */
    @ParameterizedTest(name = "read-repair racing a later {0}: 0 resurrected in " + TRIALS)
    @ValueSource(strings = {"delete", "flush_all"})
    void aRepairNeverBringsBackWhatALaterWriteRemoved(String write) throws Exception {
        cluster = ProxyFixture.start(1, 1);
        MemcachedProcess main = cluster.mains.get(0);
        MemcachedProcess backup = cluster.backups.get(0);
        MagentProxy proxy = cluster.proxy(c -> c.ioThreads(1));
        BackendServer onBackup = ProxyFixture.server(proxy, backup);
        int resurrected = 0;
        try (TextClient reader = client(proxy); TextClient writer = client(proxy);
             TextClient onMain = direct(main); TextClient onBackupDirect = direct(backup)) {
            for (int t = 0; t < TRIALS; t++) {
                String key = "rr" + write + t;
                assertEquals("STORED\r\n", set(onBackupDirect, key, "old" + t, 0), "on the backup only");
                long before = onBackup.requests();
                backup.pause();
                try {
                    reader.send("get " + key + "\r\n");
                    await("the repair's mg sent to the stopped backup", Duration.ofSeconds(5),
                            () -> onBackup.requests() > before);
                    if (write.equals("delete")) {
                        assertEquals("NOT_FOUND\r\n", writer.call("delete " + key + "\r\n"), "the main's answer");
                    } else {
                        writer.send("flush_all\r\n");
                        await("the flush sent to the stopped backup", Duration.ofSeconds(5),
                                () -> onBackup.requests() > before + 1);
                    }
                } finally {
                    backup.resume();
                }
                if (write.equals("flush_all")) {
                    assertEquals("OK\r\n", writer.readReply());
                }
                assertEquals("VALUE " + key + " 0 " + ("old" + t).length() + "\r\nold" + t + "\r\nEND\r\n",
                        reader.readReply(), "the read came before the " + write);
                // the same loop and main connection: this get reaches the main after any refill did
                String after = reader.call("get " + key + "\r\n");
                if (!after.equals("END\r\n") || mg(onMain, key) != null) {
                    resurrected++;
                }
            }
        }
        System.out.printf("MEASURED: read-repair racing a later %s: %d resurrected of %d, repairs_cancelled %d%n",
                write, resurrected, TRIALS, proxy.stats().repairsCancelled());
        assertEquals(0, resurrected, "keys back on the main after a " + write + " the client saw succeed");
        assertEquals(TRIALS, proxy.stats().repairsCancelled());
    }

    /** Case 2: flush_all while a resync copies 2,000 keys at 400 a second: nothing copied survives it. */
    @Test
    void aFlushDuringAResyncLeavesNothingBehind() throws Exception {
        cluster = ProxyFixture.start(1, 1);
        MemcachedProcess main = cluster.mains.get(0);
        MagentProxy proxy = cluster.proxy(c -> c.resyncRate(400));
        List<String> keys = new ArrayList<>();
        try (TextClient c = client(proxy); TextClient onMain = direct(main)) {
            for (int i = 0; i < 2000; i++) {
                keys.add("fr" + i);
                assertEquals("STORED\r\n", set(c, "fr" + i, "v" + i, 0));
            }
            assertEquals("OK\r\n", onMain.call("flush_all\r\n"), "the main loses its items behind the proxy's back");
            CompletableFuture<Void> resync = proxy.resync(main.address());
            await("the resync copying", Duration.ofSeconds(10),
                    () -> proxy.resyncProgress(main.address()).copied() >= 200);
            // the source stalls with copies' reads waiting on it; the flush reaches the main at once and the
            // backup after those reads: each read returns a value the flush removes, and its add comes after
            MemcachedProcess backup = cluster.backups.get(0);
            BackendServer onBackup = ProxyFixture.server(proxy, backup);
            backup.pause();
            try {
                long before = onBackup.requests();
                await("copies' reads waiting on the stopped source", Duration.ofSeconds(5),
                        () -> onBackup.requests() >= before + 20);
                c.send("flush_all\r\n");
                await("the main flushed", Duration.ofSeconds(5),
                        () -> "2".equals(call(() -> ClusterObserver.stats(onMain)).get("cmd_flush")));
            } finally {
                backup.resume();
            }
            assertEquals("OK\r\n", c.readReply());
            resync.get(30, TimeUnit.SECONDS);
            ResyncProgress p = proxy.resyncProgress(main.address());
            int survivors = 0;
            for (String k : keys) {
                if (mg(onMain, k) != null) {
                    survivors++;
                }
            }
            int served = 0;
            for (String k : keys) {
                if (c.get(k) != null) {
                    served++;
                }
            }
            System.out.printf("MEASURED: flush_all during a resync of 2000 keys at 400/s: %d keys on the main "
                    + "after it, %d served (%s)%n", survivors, served, p);
            assertEquals(0, survivors, "keys the flush removed, copied back by the resync: " + p);
            assertEquals(0, served);
        }
    }

    /** Case 4: gat 100 on the repair path refills the main with exptime 100, not the backup's 7 s left. */
    @ParameterizedTest(name = "{0} 100 k on the repair path: the main and the backup get TTL 100")
    @ValueSource(strings = {"gat", "gats"})
    void aRepairedGatAppliesTheCommandsExptime(String verb) throws Exception {
        cluster = ProxyFixture.start(1, 1);
        MagentProxy proxy = cluster.proxy();
        try (TextClient c = client(proxy); TextClient onMain = direct(cluster.mains.get(0));
             TextClient onBackup = direct(cluster.backups.get(0))) {
            assertEquals("STORED\r\n", set(onBackup, "k", "v", 7), "on the backup only, 7 s left");
            assertTrue(c.call(verb + " 100 k\r\n").startsWith("VALUE k 0 1"));
            await("the main refilled", Duration.ofSeconds(5), () -> call(() -> mg(onMain, "k")) != null);
            ClusterObserver.Item m = mg(onMain, "k");
            ClusterObserver.Item b = mg(onBackup, "k");
            System.out.printf("MEASURED: %s 100 on the repair path: main ttl %d, backup ttl %d%n", verb, m.ttl(), b.ttl());
            assertTrue(m.ttl() > 90 && m.ttl() <= 100, "the main's TTL: " + m);
            assertTrue(b.ttl() > 90 && b.ttl() <= 100, "the backup's TTL: " + b);
        }
    }

    /**
     * Case 5: gat/gats answered by the backup while the main is cut off (SIGSTOP: it keeps its items and
     * their long TTLs) shorten the TTL to 1 s; once the main is back its copies have the short TTL too, and
     * soon no copy serves them.
     */
    @Test
    void gatAndGatsServedByTheBackupReachTheMainWhenItReturns() throws Exception {
        cluster = ProxyFixture.start(1, 1);
        MemcachedProcess main = cluster.mains.get(0);
        MemcachedProcess backup = cluster.backups.get(0);
        MagentProxy proxy = cluster.proxy();
        List<String> keys = new ArrayList<>();
        try (TextClient c = client(proxy)) {
            for (int i = 0; i < 20; i++) {
                keys.add("tt" + i);
                assertEquals("STORED\r\n", set(c, "tt" + i, "v" + i, 3000));
            }
            main.pause();
            try {
                for (int i = 0; i < 5 && ProxyFixture.server(proxy, main).state() != BackendServer.State.DOWN; i++) {
                    c.get(keys.get(0)); // each times out on the main and is answered by the backup
                }
                await("the main marked down", Duration.ofSeconds(10),
                        () -> ProxyFixture.server(proxy, main).state() == BackendServer.State.DOWN);
                // half by one multi-key gats, half by single-key gats
                String multi = c.call("gats 1 " + String.join(" ", keys.subList(0, 10)) + "\r\n");
                assertEquals(10, multi.split("VALUE ", -1).length - 1, multi);
                for (String k : keys.subList(10, 20)) {
                    assertTrue(c.call("gat 1 " + k + "\r\n").startsWith("VALUE " + k), k);
                }
            } finally {
                main.resume();
            }
            await("the main back without hints", Duration.ofSeconds(20),
                    () -> ClusterObserver.upWithoutHints(proxy, main.address()));
            int oldTtl = 0;
            try (TextClient onMain = direct(main)) {
                for (String k : keys) {
                    ClusterObserver.Item item = mg(onMain, k);
                    if (item != null && (item.ttl() > 2 || item.ttl() < 0)) {
                        oldTtl++;
                    }
                }
            }
            System.out.printf("MEASURED: gat/gats 1 answered by the backup while the main was down: %d of 20 "
                    + "keys kept their old TTL on the main after it returned%n", oldTtl);
            assertEquals(0, oldTtl, "the main's TTLs were rewritten from the backup");
            await("no copy serves the expired keys", Duration.ofSeconds(10),
                    () -> keys.stream().allMatch(k -> call(() -> c.get(k)) == null));
        }
    }

    private interface IoCall<T> {
        T call() throws Exception;
    }

    private static <T> T call(IoCall<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
