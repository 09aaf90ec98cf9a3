package dev.magent.core.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ProxyStats;
import dev.magent.core.ServerAddress;
import dev.magent.core.backend.Backend;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.FakeBackend;
import dev.magent.core.backend.KeyStripes;
import dev.magent.core.route.KeyLeases;
import dev.magent.core.route.RouteFixture;
import dev.magent.core.route.Router;
import dev.magent.protocol.Command;
import dev.magent.protocol.Reply;
import dev.magent.protocol.ValuesReply;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * docs/semantics.md, "One order per key" (issue 12, case 7): two clients on two event loops write one key at
 * once. Each loop reaches each server over a connection of its own, and a server applies different
 * connections' commands in any order, so here every (loop, server) connection is a {@link Wire} that holds
 * what it was sent until the test delivers it, in the worst order: the other loop's main first, this loop's
 * backup first. Tasks handed to a loop wait in its queue until the test runs them.
 */
class KeyOrderTest {
    private static final byte[] K = "k".getBytes(StandardCharsets.US_ASCII);

    /** One loop's connection to one server: FIFO, as a TCP connection to memcached is. */
    static final class Wire implements Backend {
        private final FakeBackend server;
        private final ArrayDeque<Runnable> queued = new ArrayDeque<>();

        Wire(FakeBackend server) {
            this.server = server;
        }

        @Override
        public void send(Command command, Completion completion) {
            queued.add(() -> server.send(command, completion));
        }

        void deliver() {
            while (!queued.isEmpty()) {
                queued.poll().run();
            }
        }
    }

    /** Two loops over one main and one backup. */
    static final class TwoLoops {
        final Cluster cluster;
        final FakeBackend main;
        final FakeBackend backup;
        final Wire[][] wires = new Wire[2][2]; // [loop][server id]
        final List<ArrayDeque<Runnable>> tasks = List.of(new ArrayDeque<>(), new ArrayDeque<>());
        final KeyOwners owners;

        TwoLoops() {
            ProxyConfig config = ProxyConfig.builder().mains(List.of(new ServerAddress("10.0.0.1", 11211)))
                    .backupPools(List.of(List.of(new ServerAddress("10.0.1.1", 11211)))).build();
            cluster = new Cluster(config);
            main = new FakeBackend(cluster.server(0).address());
            backup = new FakeBackend(cluster.server(1).address());
            ProxyStats stats = new ProxyStats();
            List<Router> routers = new ArrayList<>();
            for (int loop = 0; loop < 2; loop++) {
                wires[loop][0] = new Wire(main);
                wires[loop][1] = new Wire(backup);
                Wire[] mine = wires[loop];
                routers.add(new Router(cluster, null, s -> mine[s.id()], stats, true));
            }
            owners = new KeyOwners(routers, List.of(tasks.get(0)::add, tasks.get(1)::add), new KeyLeases());
        }

        /** Runs every task handed to a loop, including those its tasks hand on, on every loop. */
        void runTasks() {
            boolean ran = true;
            while (ran) {
                ran = false;
                for (ArrayDeque<Runnable> q : tasks) {
                    while (!q.isEmpty()) {
                        q.poll().run();
                        ran = true;
                    }
                }
            }
        }

        /** Delivers the worst way for {@code loop}'s write: the other loop's main first, this one's backup first. */
        void deliverCrosswise(int loop) {
            int other = 1 - loop;
            wires[other][0].deliver();
            wires[loop][0].deliver();
            wires[loop][1].deliver();
            wires[other][1].deliver();
            runTasks();
        }
    }

    /** The client's side of one request. */
    static final class Answer implements Completion {
        String text;

        @Override
        public void accept(Reply r, Throwable f) {
            text = r == null ? "failed: " + f : describe(r);
            ReferenceCountUtil.release(r);
        }

        private static String describe(Reply r) {
            if (r instanceof ValuesReply v) {
                return v.values().isEmpty() ? "miss"
                        : v.values().get(0).data().toString(StandardCharsets.US_ASCII);
            }
            return r.toString();
        }
    }

    @ParameterizedTest(name = "{0} vs {1}: main and backup agree")
    @CsvSource(delimiter = '|', value = {
        "set k 0 0 1\\nA | set k 0 0 1\\nB",
        "delete k | set k 0 0 1\\nB",
        "incr k 1 | set k 0 0 3\\n100",
        "set k 0 0 1\\nB | delete k",
        "append k 0 0 1\\nx | set k 0 0 1\\nB"})
    void twoClientsOnTwoLoopsLeaveTheCopiesEqual(String first, String second) {
        for (int firstLoop = 0; firstLoop < 2; firstLoop++) {
            for (int crosswise = 0; crosswise < 2; crosswise++) {
                TwoLoops loops = new TwoLoops();
                loops.main.put("k", "5");
                loops.backup.put("k", "5");
                KeyOrder a = new KeyOrder(loops.owners, firstLoop, () -> { });
                KeyOrder b = new KeyOrder(loops.owners, 1 - firstLoop, () -> { });
                Answer ra = new Answer();
                Answer rb = new Answer();
                a.route(RouteFixture.parse(first), ra); // its sends hold the key's lease for its loop
                b.route(RouteFixture.parse(second), rb); // so this one is handed to that loop
                assertEquals(1, b.elsewhere());
                loops.runTasks();
                loops.deliverCrosswise(crosswise);
                loops.runTasks();
                loops.deliverCrosswise(1 - crosswise); // a correction sent after the replies
                assertNotNull(ra.text, "answered");
                assertNotNull(rb.text, "answered");
                assertEquals(loops.main.value("k"), loops.backup.value("k"),
                        first + " / " + second + ", first from loop " + firstLoop);
                assertEquals(0, a.elsewhere() + b.elsewhere(), "every hand-off answered");
                assertEquals(-1, loops.owners.leases().holder(KeyStripes.of(K)), "the lease is free again");
            }
        }
    }

    @Test
    void aLeaseMovesOnceNothingIsInFlight() {
        TwoLoops loops = new TwoLoops();
        KeyOrder a = new KeyOrder(loops.owners, 0, () -> { });
        KeyOrder b = new KeyOrder(loops.owners, 1, () -> { });
        a.route(RouteFixture.parse("set k 0 0 1\nA"), new Answer());
        assertEquals(0, loops.owners.leases().holder(KeyStripes.of(K)));
        loops.wires[0][0].deliver();
        assertEquals(0, loops.owners.leases().holder(KeyStripes.of(K)), "the backup has not answered");
        loops.wires[0][1].deliver();
        assertEquals(-1, loops.owners.leases().holder(KeyStripes.of(K)));
        Answer rb = new Answer();
        b.route(RouteFixture.parse("set k 0 0 1\nB"), rb);
        assertEquals(0, b.elsewhere(), "routed on its own loop");
        loops.wires[1][0].deliver();
        loops.wires[1][1].deliver();
        assertEquals("STORED", rb.text);
        assertEquals("B", loops.backup.value("k"));
    }

    @Test
    void withoutOwnersTheSameInterleavingLeavesTheCopiesDifferent() {
        // the bug of case 7, as it was: each loop routing the key itself
        TwoLoops loops = new TwoLoops();
        loops.main.put("k", "5");
        loops.backup.put("k", "5");
        loops.owners.router(0).route(RouteFixture.parse("set k 0 0 1\nA"), new Answer());
        loops.owners.router(1).route(RouteFixture.parse("set k 0 0 1\nB"), new Answer());
        loops.deliverCrosswise(0);
        assertNotEquals(loops.main.value("k"), loops.backup.value("k"));
    }

    @Test
    void aClientReadsItsOwnWriteHandedToAnotherLoop() {
        TwoLoops loops = new TwoLoops();
        loops.main.put("k", "old");
        KeyOrder a = new KeyOrder(loops.owners, 0, () -> { });
        KeyOrder b = new KeyOrder(loops.owners, 1, () -> { });
        b.route(RouteFixture.parse("set k 0 0 3\nold"), new Answer()); // loop 1 holds the lease
        Answer set = new Answer();
        Answer get = new Answer();
        a.route(RouteFixture.parse("set k 0 0 3\nnew"), set);
        a.route(RouteFixture.parse("get k"), get);
        assertEquals(2, a.elsewhere(), "the read follows the write to the loop holding the lease");
        loops.runTasks();
        loops.wires[0][0].deliver(); // a read sent on the client's own loop would be answered first
        loops.wires[1][0].deliver();
        loops.wires[1][1].deliver();
        loops.runTasks();
        assertEquals("new", get.text);
        assertEquals(0, a.elsewhere());
    }

    @Test
    void readsStayHomeWhenNothingIsElsewhere() {
        TwoLoops loops = new TwoLoops();
        loops.main.put("k", "v");
        KeyOrder b = new KeyOrder(loops.owners, 1, () -> { });
        b.route(RouteFixture.parse("set k 0 0 1\nv"), new Answer()); // loop 1 holds the lease
        KeyOrder a = new KeyOrder(loops.owners, 0, () -> { });
        Answer get = new Answer();
        a.route(RouteFixture.parse("get k"), get);
        assertEquals(0, a.elsewhere());
        loops.wires[0][0].deliver();
        assertEquals("v", get.text);
    }

    @Test
    void aMultiKeyReadWaitsForTheClientsWritesElsewhere() {
        TwoLoops loops = new TwoLoops();
        int[] drained = {0};
        KeyOrder a = new KeyOrder(loops.owners, 0, () -> drained[0]++);
        KeyOrder b = new KeyOrder(loops.owners, 1, () -> { });
        Command multi = RouteFixture.parse("get k other");
        assertFalse(a.mustWait(multi), "nothing elsewhere yet");
        b.route(RouteFixture.parse("set k 0 0 1\nv"), new Answer());
        a.route(RouteFixture.parse("set k 0 0 1\nw"), new Answer());
        assertTrue(a.mustWait(multi));
        assertFalse(a.mustWait(RouteFixture.parse("get k")), "one key: it follows the write instead");
        loops.runTasks();
        loops.wires[1][0].deliver();
        loops.wires[1][1].deliver();
        loops.runTasks();
        assertFalse(a.mustWait(multi));
        assertEquals(1, drained[0], "the client is told it may go on");
        ReferenceCountUtil.release(multi);
    }

    @Test
    void stripesSpreadKeys() {
        java.util.Set<Integer> stripes = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            stripes.add(KeyStripes.of(("key:" + i).getBytes(StandardCharsets.US_ASCII)));
        }
        assertTrue(stripes.size() > 980, stripes.size() + " stripes for 1000 keys");
    }
}
