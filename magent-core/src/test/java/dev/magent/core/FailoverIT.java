package dev.magent.core;

import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Fail-over, health and limits against real memcached processes that are killed, stalled and restarted. */
class FailoverIT {
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

    @Test
    void stalledMainTimesOutFailsOverAndRecoversAfterSigcont() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.requestTimeout(Duration.ofMillis(300)).failureThreshold(1));
        try (TextClient c = client(proxy)) {
            assertEquals("STORED\r\n", c.set("key2", "on-a")); // A's shard
            assertEquals("STORED\r\n", c.set("key1", "on-b")); // B's shard
        }
        a.pause();
        try (TextClient c = client(proxy); TextClient other = client(proxy)) {
            // the stalled main's key comes from the backup once the request times out
            assertEquals("on-a", c.get("key2"));
            assertTrue(proxy.stats().backendTimeouts() >= 1);
            BackendServer aState = ProxyFixture.server(proxy, a);
            assertEquals(BackendServer.State.DOWN, aState.state());
            // marked down: skipped without waiting; writes still reach the backup
            assertEquals("STORED\r\n", c.set("key2", "while-stalled"));
            assertEquals("while-stalled", c.get("key2"));
            // the other main's keys are unaffected
            long t0 = System.nanoTime();
            assertEquals("on-b", other.get("key1"));
            assertTrue(Duration.ofNanos(System.nanoTime() - t0).toMillis() < 300,
                    "a key on a healthy main must not wait for the stalled one's timeout");
            a.resume();
            await("A back in service, its missed write rewritten", Duration.ofSeconds(10),
                    () -> aState.state() == BackendServer.State.UP && aState.hints().isEmpty());
            try (TextClient onA = direct(a)) {
                assertEquals("while-stalled", onA.get("key2"), "the write A missed was handed off to it");
            }
            assertEquals("STORED\r\n", c.set("key2", "after"));
            try (TextClient onA = direct(a)) {
                assertEquals("after", onA.get("key2"));
            }
        }
    }

    @Test
    void everyServerDownGivesServerErrorAndServiceResumesWhenTheyReturn() throws Exception {
        MagentProxy proxy = cluster.proxy();
        a.kill();
        b.kill();
        backup.kill();
        try (TextClient c = client(proxy)) {
            String reply = c.call("get key1\r\n");
            assertTrue(reply.startsWith("SERVER_ERROR no server available for key key1: main 127.0.0.1:"), reply);
            reply = c.set("key1", "x");
            assertTrue(reply.startsWith("SERVER_ERROR "), reply);
            assertTrue(c.call("version\r\n").startsWith("VERSION "), "the connection stays usable");
            a.restart();
            b.restart();
            backup.restart();
            await("all servers back", Duration.ofSeconds(10),
                    () -> proxy.servers().stream().allMatch(s -> s.state() == BackendServer.State.UP));
            assertEquals("STORED\r\n", c.set("key1", "back"));
            assertEquals("back", c.get("key1"));
        }
    }

    @Test
    void aServerUnreachableAtStartIsNotAnError() throws Exception {
        a.kill();
        MagentProxy proxy = cluster.proxy();
        assertEquals(BackendServer.State.DOWN, ProxyFixture.server(proxy, a).state());
        try (TextClient c = client(proxy)) {
            assertEquals("STORED\r\n", c.set("key2", "kept-by-backup"));
            assertEquals("kept-by-backup", c.get("key2"));
        }
    }

    @Test
    void connectionsBeyondTheLimitAreRefusedCleanly() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.maxConnections(2));
        try (TextClient one = client(proxy); TextClient two = client(proxy)) {
            assertEquals("STORED\r\n", one.set("limit", "1"));
            assertEquals("STORED\r\n", two.set("limit", "2"));
            try (TextClient three = client(proxy)) {
                assertEquals("ERROR Too many open connections\r\n", three.readLine());
                assertTrue(three.isClosedByServer());
            }
            assertEquals("2", one.get("limit"));
            assertTrue(proxy.stats().rejectedConnections() >= 1);
        }
        // the refused connection's slot is free again once the others close
        await("connections closed", Duration.ofSeconds(5), () -> proxy.stats().currentConnections() == 0);
        try (TextClient again = client(proxy)) {
            assertEquals("2", again.get("limit"));
        }
    }

    @Test
    void flushAllReachesEveryServer() throws Exception {
        MagentProxy proxy = cluster.proxy();
        try (TextClient c = client(proxy)) {
            for (int i = 1; i <= 5; i++) {
                assertEquals("STORED\r\n", c.set("key" + i, "v"));
            }
            assertEquals("OK\r\n", c.call("flush_all\r\n"));
            for (int i = 1; i <= 5; i++) {
                assertNull(c.get("key" + i));
            }
        }
        try (TextClient onBackup = direct(backup)) {
            assertNull(onBackup.get("key1"));
        }
    }

    @Test
    void withoutRepairAMissIsAMiss() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.readRepair(false));
        try (TextClient c = client(proxy); TextClient onA = direct(a)) {
            assertEquals("STORED\r\n", c.set("key2", "x"));
            assertEquals("DELETED\r\n", onA.call("delete key2\r\n"));
            assertNull(c.get("key2"));
        }
    }

    @Test
    void shutdownFinishesInFlightRequests() throws Exception {
        MagentProxy proxy = cluster.proxy();
        try (TextClient c = client(proxy)) {
            assertEquals("STORED\r\n", c.set("key2", "v")); // A's shard
            a.pause(); // the next read of key2 waits for A's timeout, then fails over to the backup
            c.send("get key2\r\n");
            await("the proxy has the request in flight", Duration.ofSeconds(5),
                    () -> proxy.stats().commands(dev.magent.protocol.Verb.GET) >= 1);
            proxy.shutdown(Duration.ofSeconds(5));
            assertEquals("VALUE key2 0 1\r\nv\r\nEND\r\n", c.readReply());
            assertTrue(c.isClosedByServer());
        }
    }
}
