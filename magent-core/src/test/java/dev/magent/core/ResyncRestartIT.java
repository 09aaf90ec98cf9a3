package dev.magent.core;

import static dev.magent.core.ClusterObserver.mg;
import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.ResyncProgress;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12, cases 3 and 6 on real memcached 1.6.18 (docs/semantics.md, "Rejoin", "flush_all"): a delayed
 * flush_all a main missed takes effect there when it does everywhere else; a main restarted again during
 * its resync comes back with its whole shard.
 */
class ResyncRestartIT {
    private ProxyFixture cluster;
    private MemcachedProcess main;
    private MemcachedProcess backup;

    @BeforeEach
    void start() throws IOException {
        cluster = ProxyFixture.start(1, 1);
        main = cluster.mains.get(0);
        backup = cluster.backups.get(0);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private static String set(TextClient c, String key, String value) throws IOException {
        return c.call("set " + key + " 0 0 " + value.length() + "\r\n" + value + "\r\n");
    }

    private List<String> fill(TextClient c, String prefix, int n) throws IOException {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            keys.add(prefix + i);
            assertEquals("STORED\r\n", set(c, prefix + i, "v" + i));
        }
        return keys;
    }

    private void markedDown(MagentProxy proxy, TextClient c, String key) throws Exception {
        BackendServer s = ProxyFixture.server(proxy, main);
        for (int i = 0; i < 10 && s.state() != BackendServer.State.DOWN; i++) {
            c.get(key); // failures on the main, answered by the backup
        }
        await("the main marked down", Duration.ofSeconds(15), () -> s.state() == BackendServer.State.DOWN);
    }

    private static int countOn(MemcachedProcess m, List<String> keys) throws IOException {
        int n = 0;
        try (TextClient d = direct(m)) {
            for (String k : keys) {
                if (mg(d, k) != null) {
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * Case 3: {@code flush_all 10} while the main is down (killed, or stopped and so keeping its items); it
     * returns and is resynced before the deadline; after the deadline no copy holds the keys.
     */
    @ParameterizedTest(name = "flush_all 10 while the main is {0}: gone everywhere after the deadline")
    @ValueSource(strings = {"killed", "stopped"})
    void aDelayedFlushTheMainMissedTakesEffectThereToo(String how) throws Exception {
        MagentProxy proxy = cluster.proxy();
        try (TextClient c = client(proxy)) {
            List<String> keys = fill(c, "df", 100);
            if (how.equals("killed")) {
                main.kill();
            } else {
                main.pause();
            }
            markedDown(proxy, c, keys.get(0));
            long flushedAt = System.currentTimeMillis();
            assertEquals("OK\r\n", c.call("flush_all 10\r\n"), "the backup took it");
            if (how.equals("killed")) {
                main.restart();
            } else {
                main.resume();
            }
            await("the main back in service", Duration.ofSeconds(8),
                    () -> ClusterObserver.upWithoutHints(proxy, main.address()));
            assertTrue(System.currentTimeMillis() - flushedAt < 9000, "back before the deadline");
            int before = 0;
            for (String k : keys) {
                if (c.get(k) != null) {
                    before++;
                }
            }
            assertEquals(keys.size(), before, "until the deadline the keys live, as on a lone memcached");
            await("the backup flushed at the deadline", Duration.ofSeconds(15), () -> call(() -> countOn(backup, keys)) == 0);
            long backupFlushed = System.currentTimeMillis();
            try {
                // the proxy flushes the main at the deadline by its own clock: within memcached's second
                await("the main flushed too", Duration.ofSeconds(3), () -> call(() -> countOn(main, keys)) == 0);
            } catch (AssertionError stillThere) {
                // counted below
            }
            long lagMillis = System.currentTimeMillis() - backupFlushed;
            int onMain = countOn(main, keys);
            int served = 0;
            for (String k : keys) {
                if (c.get(k) != null) {
                    served++;
                }
            }
            System.out.printf("MEASURED: flush_all 10 while the main was %s: %d of %d keys on the main after the "
                    + "deadline (gone %d ms after the backup's), %d served (%s)%n", how, onMain, keys.size(), lagMillis, served,
                    proxy.resyncProgress(main.address()));
            assertEquals(0, onMain, "the main kept keys the flush removed everywhere else");
            assertEquals(0, served);
        }
    }

    /**
     * Case 6: the main restarts empty, its resync (400 keys at 100 a second) copies a quarter, and it
     * restarts again: the resync starts over against the new process, which serves only once it holds the
     * whole shard; append then finds every key.
     */
    @Test
    void aMainRestartedAgainDuringItsResyncGetsItsWholeShard() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.resyncRate(100));
        BackendServer s = ProxyFixture.server(proxy, main);
        try (TextClient c = client(proxy)) {
            List<String> keys = fill(c, "rr", 400);
            main.kill();
            markedDown(proxy, c, keys.get(0));
            main.restart();
            await("a quarter copied into the second process", Duration.ofSeconds(20),
                    () -> proxy.resyncProgress(main.address()).copied() >= 100);
            assertEquals(BackendServer.State.SYNCING, s.state());
            main.restart(); // a third process: what was copied is gone
            await("the main back in service after a resync", Duration.ofSeconds(40),
                    () -> s.state() == BackendServer.State.UP
                            && proxy.resyncProgress(main.address()).phase() == ResyncProgress.Phase.DONE);
            ResyncProgress p = proxy.resyncProgress(main.address());
            int missing = keys.size() - countOn(main, keys);
            int notStored = 0;
            for (String k : keys) {
                String r = c.call("append " + k + " 0 0 1\r\nX\r\n");
                if (r.equals("NOT_STORED\r\n")) {
                    notStored++;
                } else {
                    assertEquals("STORED\r\n", r, k);
                }
            }
            System.out.printf("MEASURED: main restarted again during its resync: %d of %d keys missing when it "
                    + "came back, append NOT_STORED %d times (%s)%n", missing, keys.size(), notStored, p);
            assertEquals(0, missing, "keys of its shard the current process lacks: " + p);
            assertEquals(0, notStored);
            assertTrue(p.runs() >= 2, "a resync per process: " + p);
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
