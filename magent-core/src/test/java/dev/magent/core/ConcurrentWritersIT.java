package dev.magent.core;

import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * docs/semantics.md, "One order per key" and "gets and cas" (issue 12, cases 7 and 8), on real memcached:
 * two clients on two connections (the proxy's two event loops take new connections in turn) write one key
 * at the same moment, 200 times per kind; afterwards main and backup, read directly, hold the same thing
 * for every key. And a gets/cas pair during a resync by hand meets on one server.
 */
class ConcurrentWritersIT {
    private static final int TRIALS = 200;
    private static ProxyFixture cluster;
    private static MagentProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        cluster = ProxyFixture.start(1, 1);
        proxy = cluster.proxy(c -> c.ioThreads(2).requestTimeout(Duration.ofSeconds(5)).resyncRate(50));
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @ParameterizedTest(name = "{0} vs {1}: 0 of 200 keys differ between main and backup")
    @CsvSource(delimiter = '|', value = {
        "set %s 0 0 1\\r\\nA\\r\\n | set %s 0 0 1\\r\\nB\\r\\n",
        "delete %s\\r\\n           | set %s 0 0 1\\r\\nB\\r\\n",
        "incr %s 1\\r\\n           | set %s 0 0 3\\r\\n100\\r\\n"})
    void twoClientsWritingOneKeyLeaveTheCopiesEqual(String first, String second) throws Exception {
        String a = first.replace("\\r\\n", "\r\n");
        String b = second.replace("\\r\\n", "\r\n");
        String kind = a.substring(0, a.indexOf(' ')) + "-" + b.substring(0, b.indexOf(' '));
        List<String> keys = new ArrayList<>();
        try (TextClient setup = client(proxy); TextClient one = client(proxy); TextClient two = client(proxy)) {
            for (int i = 0; i < TRIALS; i++) {
                String key = "race:" + kind + ":" + i;
                keys.add(key);
                assertEquals("STORED\r\n", setup.set(key, "5"));
                // both requests are on the wire before either reply is read; who sends first alternates
                TextClient early = i % 2 == 0 ? one : two;
                TextClient late = i % 2 == 0 ? two : one;
                early.send(a.formatted(key));
                late.send(b.formatted(key));
                early.readReply();
                late.readReply();
            }
        }
        List<String> differing = awaitCopiesEqual(keys);
        System.out.println("MEASURED: " + kind + ": " + differing.size() + " of " + TRIALS
                + " keys differ between main and backup");
        assertEquals(List.of(), differing, kind + ": keys whose main and backup differ");
    }

    @Test
    void aPipelinedReadSeesTheClientsOwnWrite() throws Exception {
        // half the keys are owned by the other loop: their sets are routed there, and the reads behind them
        // (one key: sent there too; several keys: held until the sets are answered) must still see them
        StringBuilder pipeline = new StringBuilder();
        for (int i = 0; i < TRIALS; i++) {
            pipeline.append("set own:").append(i).append(" 0 0 2\r\nv").append(i % 10).append("\r\n")
                    .append("get own:").append(i).append("\r\n")
                    .append("get own:").append(i).append(" own:0\r\n");
        }
        try (TextClient c = client(proxy)) {
            c.send(pipeline.toString());
            for (int i = 0; i < TRIALS; i++) {
                assertEquals("STORED\r\n", c.readReply());
                String value = "VALUE own:" + i + " 0 2\r\nv" + (i % 10) + "\r\n";
                assertEquals(value + "END\r\n", c.readReply(), "get after set of own:" + i);
                assertEquals(value + "VALUE own:0 0 2\r\nv0\r\nEND\r\n", c.readReply(), "multi-get of own:" + i);
            }
        }
    }

    @Test
    void getsAndCasMeetOnOneServerDuringAResync() throws Exception {
        MemcachedProcess main = cluster.mains.get(0);
        BackendServer server = ProxyFixture.server(proxy, main);
        try (TextClient c = client(proxy)) {
            for (int i = 0; i < 200; i++) {
                assertEquals("STORED\r\n", c.set("fill:" + i, "x")); // 200 keys at 50/s: a resync of 4 s
            }
            CompletableFuture<Void> resync = proxy.resync(main.address());
            MemcachedProcess.await("the resync recording writes", Duration.ofSeconds(5), server::recordingWrites);
            int stored = 0;
            for (int i = 0; i < 20 && !resync.isDone(); i++) {
                String key = "cas:" + i;
                assertEquals("STORED\r\n", c.set(key, "one")); // written during the resync: hinted on the main
                String gets = c.call("gets " + key + "\r\n");
                assertTrue(gets.startsWith("VALUE " + key + " 0 3 "), gets);
                long unique = Long.parseLong(gets.split("\r\n")[0].split(" ")[4]);
                String cas = c.call("cas " + key + " 0 0 3 " + unique + "\r\ntwo\r\n");
                assertEquals("STORED\r\n", cas, "cas after gets of " + key + " (main " + server.state() + ")");
                assertEquals("UP", server.state().name());
                stored++;
            }
            assertTrue(stored > 0, "the resync was still running");
            resync.get(60, TimeUnit.SECONDS);
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < stored; i++) {
                keys.add("cas:" + i);
            }
            assertEquals(List.of(), awaitCopiesEqual(keys));
            for (String key : keys) {
                assertEquals("two", c.get(key));
            }
        }
    }

    /** The keys whose main and backup still differ after the hint sweeps had a few seconds to run. */
    private static List<String> awaitCopiesEqual(List<String> keys) throws Exception {
        List<String> differing = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        do {
            differing = differing(keys);
            if (differing.isEmpty()) {
                break;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < deadline);
        return differing;
    }

    private static List<String> differing(List<String> keys) throws IOException {
        List<String> out = new ArrayList<>();
        try (TextClient m = direct(cluster.mains.get(0)); TextClient b = direct(cluster.backups.get(0))) {
            for (String key : keys) {
                String onMain = m.get(key);
                String onBackup = b.get(key);
                if (!java.util.Objects.equals(onMain, onBackup)) {
                    out.add(key + ": main " + onMain + ", backup " + onBackup);
                }
            }
        }
        return out;
    }
}
