package dev.magent.core;

import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.recovery.ResyncProgress;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each rule of docs/semantics.md against two real mains and one backup. */
class SemanticsIT {
    private static ProxyFixture cluster;
    private static MagentProxy proxy;
    private static MemcachedProcess a;
    private static MemcachedProcess b;
    private static MemcachedProcess backup;

    @BeforeAll
    static void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        a = cluster.mains.get(0);
        b = cluster.mains.get(1);
        backup = cluster.backups.get(0);
        // these tests are about what is answered, not how fast: a generous timeout keeps a busy CI machine
        // (the ITs before this one leave the JVM warm but the cores loaded) from turning them into fail-overs
        proxy = cluster.proxy(c -> c.requestTimeout(Duration.ofSeconds(5)));
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void multiGetAcrossShardsKeepsTheClientsKeyOrder() throws Exception {
        try (TextClient c = client(proxy)) {
            // key2, key4 live on A; key1, key3, key5 on B (the how-to's placement)
            for (int i = 1; i <= 5; i++) {
                assertEquals("STORED\r\n", c.set("mg" + i, "v" + i));
            }
            String reply = c.call("get mg5 mg1 missing mg2 mg4 mg3 mg1\r\n");
            assertEquals("VALUE mg5 0 2\r\nv5\r\nVALUE mg1 0 2\r\nv1\r\nVALUE mg2 0 2\r\nv2\r\n"
                    + "VALUE mg4 0 2\r\nv4\r\nVALUE mg3 0 2\r\nv3\r\nVALUE mg1 0 2\r\nv1\r\nEND\r\n", reply);
            assertEquals("END\r\n", c.call("get nothing1 nothing2\r\n"));
        }
    }

    @Test
    void getsReturnsTheMainsCasAndCasIsCopiedToTheBackup() throws Exception {
        try (TextClient c = client(proxy); TextClient onBackup = direct(backup)) {
            assertEquals("STORED\r\n", c.set("casKey", "one"));
            String gets = c.call("gets casKey\r\n");
            assertTrue(gets.startsWith("VALUE casKey 0 3 "), gets);
            long cas = Long.parseLong(gets.split("\r\n")[0].split(" ")[4]);
            assertEquals("STORED\r\n", c.call("cas casKey 7 0 3 " + cas + "\r\ntwo\r\n"));
            assertEquals("EXISTS\r\n", c.call("cas casKey 0 0 5 " + cas + "\r\nthree\r\n"));
            assertEquals("NOT_FOUND\r\n", c.call("cas nokey 0 0 1 1\r\nx\r\n"));
            assertEquals("VALUE casKey 7 3\r\ntwo\r\nEND\r\n", c.call("get casKey\r\n"));
            awaitReply(onBackup, "get casKey\r\n", "VALUE casKey 7 3\r\ntwo\r\nEND\r\n");
        }
    }

    @Test
    void incrAndDecrLeaveTheSameValueOnTheBackup() throws Exception {
        try (TextClient c = client(proxy); TextClient onBackup = direct(backup)) {
            assertEquals("STORED\r\n", c.set("counter", "10"));
            assertEquals("15\r\n", c.call("incr counter 5\r\n"));
            assertEquals("12\r\n", c.call("decr counter 3\r\n"));
            assertEquals("NOT_FOUND\r\n", c.call("incr nocounter 1\r\n"));
            awaitReply(onBackup, "get counter\r\n", "VALUE counter 0 2\r\n12\r\nEND\r\n");
            // the backup drifted (written directly): the next incr puts it back in step
            assertEquals("STORED\r\n", onBackup.set("counter", "100"));
            assertEquals("13\r\n", c.call("incr counter 1\r\n"));
            MemcachedProcess.await("backup counter back in step", Duration.ofSeconds(5),
                    () -> "13".equals(quietGet(onBackup, "counter")));
        }
    }

    @Test
    void writesGoToTheMainAndTheBackup() throws Exception {
        try (TextClient c = client(proxy); TextClient onA = direct(a); TextClient onBackup = direct(backup)) {
            // "key2" lives on A
            assertEquals("STORED\r\n", c.call("set key2 3 0 2\r\nab\r\n"));
            assertEquals("NOT_STORED\r\n", c.call("add key2 0 0 1\r\nx\r\n"));
            assertEquals("STORED\r\n", c.call("append key2 0 0 2\r\ncd\r\n"));
            assertEquals("STORED\r\n", c.call("prepend key2 0 0 2\r\nzz\r\n"));
            assertEquals("STORED\r\n", c.call("replace key2 3 0 6\r\nzzabcd\r\n"));
            assertEquals("VALUE key2 3 6\r\nzzabcd\r\nEND\r\n", onA.call("get key2\r\n"));
            awaitReply(onBackup, "get key2\r\n", "VALUE key2 3 6\r\nzzabcd\r\nEND\r\n");
            assertEquals("TOUCHED\r\n", c.call("touch key2 100\r\n"));
            assertEquals("DELETED\r\n", c.call("delete key2\r\n"));
            assertEquals("NOT_FOUND\r\n", c.call("delete key2\r\n"));
            assertNull(onA.get("key2"));
            awaitReply(onBackup, "get key2\r\n", "END\r\n");
        }
    }

    @Test
    void noreplySendsNothingButStillWrites() throws Exception {
        try (TextClient c = client(proxy); TextClient onBackup = direct(backup)) {
            c.send("set quiet 0 0 1 noreply\r\nq\r\n");
            c.send("incr quiet 1 noreply\r\n");
            c.send("delete nothing-here noreply\r\n");
            // the next reply on the wire is the get's: nothing was sent for the three above
            assertEquals("VALUE quiet 0 1\r\nq\r\nEND\r\n", c.call("get quiet\r\n"));
            // the backup's copy is written alongside, not before the client's reply: wait for it
            awaitReply(onBackup, "get quiet\r\n", "VALUE quiet 0 1\r\nq\r\nEND\r\n");
        }
    }

    @Test
    void pipelinedRequestsAreAllAnsweredInOrder() throws Exception {
        try (TextClient c = client(proxy)) {
            assertEquals("STORED\r\n", c.set("pipe-warm-up", "1")); // backend connections open before the burst
            StringBuilder batch = new StringBuilder();
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < 200; i++) {
                batch.append("set pipe").append(i).append(" 0 0 ").append(String.valueOf(i).length()).append("\r\n")
                        .append(i).append("\r\n");
                batch.append("get pipe").append(i).append("\r\n");
                expected.append("STORED\r\n").append("VALUE pipe").append(i).append(" 0 ")
                        .append(String.valueOf(i).length()).append("\r\n").append(i).append("\r\nEND\r\n");
            }
            c.send(batch.toString());
            StringBuilder got = new StringBuilder();
            for (int i = 0; i < 400; i++) {
                got.append(c.readReply());
            }
            assertEquals(expected.toString(), got.toString());
        }
    }

    @Test
    void unknownCommandsGetErrorAndTheConnectionStaysOpen() throws Exception {
        try (TextClient c = client(proxy)) {
            assertEquals("ERROR\r\n", c.call("bogus command\r\n"));
            assertEquals("ERROR\r\n", c.call("stats nonsense\r\n"));
            assertEquals("STORED\r\n", c.set("still-open", "yes"));
            assertTrue(c.call("version\r\n").startsWith("VERSION "));
            assertEquals("OK\r\n", c.call("verbosity 1\r\n"));
        }
    }

    @Test
    void adminCommandsOverTheMemcachedPort() throws Exception {
        try (TextClient c = client(proxy)) {
            assertEquals("OK\r\n", c.call("magent resync 127.0.0.1:" + a.port() + "\r\n"));
            MemcachedProcess.await("the resync ran", Duration.ofSeconds(10),
                    () -> proxy.resyncProgress(a.address()).phase() == ResyncProgress.Phase.DONE);
            assertEquals("CLIENT_ERROR not a server of this proxy: 10.9.9.9:1\r\n", c.call("magent resync 10.9.9.9:1\r\n"));
            assertEquals("SERVER_ERROR reload needs a configuration file (-c)\r\n", c.call("magent reload\r\n"));
            assertTrue(c.call("magent bogus\r\n").startsWith("CLIENT_ERROR unknown magent command"));
            assertTrue(c.call("stats\r\n").contains("STAT resync_1 127.0.0.1:" + a.port() + " phase=done"));
        }
    }

    @Test
    void quitClosesTheConnection() throws Exception {
        try (TextClient c = client(proxy)) {
            c.send("quit\r\n");
            assertTrue(c.isClosedByServer());
        }
    }

    @Test
    void statsUsesMemcachedsFormatWithProxyCounters() throws Exception {
        try (TextClient c = client(proxy)) {
            String stats = c.call("stats\r\n");
            for (String line : stats.split("\r\n")) {
                assertTrue(line.equals("END") || line.matches("STAT [a-z_0-9]+ .+"), line);
            }
            for (String name : new String[] {"version", "curr_connections", "cmd_get", "cmd_set", "failovers",
                    "read_repairs", "backup_write_errors", "backend_timeouts", "matrix_1", "matrix_3"}) {
                assertTrue(stats.contains("STAT " + name + " "), name + " in " + stats);
            }
        }
    }

    /** The backup is written alongside the main, not before the client's reply: wait for its copy. */
    static void awaitReply(TextClient c, String request, String expected) throws InterruptedException {
        MemcachedProcess.await("'" + expected.trim() + "' for " + request.trim(), Duration.ofSeconds(5), () -> {
            try {
                return expected.equals(c.call(request));
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    static String quietGet(TextClient c, String key) {
        try {
            return c.get(key);
        } catch (Exception e) {
            return null;
        }
    }
}
