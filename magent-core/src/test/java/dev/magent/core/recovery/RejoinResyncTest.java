package dev.magent.core.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.MemcachedProcess;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.FakeBackend;
import dev.magent.core.route.RouteFixture;
import io.netty.channel.DefaultEventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "Rejoin" (issue 12, cases 3 and 6): the full resync through the send contract, its
 * keys listed from a fake server instead of a metadump. A main restarted again during its resync is copied
 * again into the new process and stays out of service until then; a delayed flush_all it missed or lost
 * is applied to it at its deadline.
 */
class RejoinResyncTest {
    private static final HealthProber.ServerIdentity FIRST = new HealthProber.ServerIdentity(1, 1000, 500);
    private static final HealthProber.ServerIdentity SECOND = new HealthProber.ServerIdentity(2, 2000, 1);
    private static final HealthProber.ServerIdentity THIRD = new HealthProber.ServerIdentity(3, 3000, 1);
    private final DefaultEventLoop loop = new DefaultEventLoop();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    /** Lists a fake server's keys, as a metadump would, and paces the work on them as the resync does. */
    private FullResync.KeyScan lister(RouteFixture fx) {
        return (source, perSecond, keep, work) -> {
            java.util.List<byte[]> kept = new java.util.ArrayList<>();
            for (String k : fx.fakes[source.id()].keys()) {
                byte[] key = k.getBytes(StandardCharsets.US_ASCII);
                if (keep.test(key)) {
                    kept.add(key);
                }
            }
            return Pacer.pace(loop, perSecond, kept.iterator(), work);
        };
    }

    private <T> T onLoop(Callable<T> c) throws Exception {
        return loop.submit(c).get(5, TimeUnit.SECONDS);
    }

    private Rejoin rejoin(RouteFixture fx) throws Exception {
        return onLoop(() -> new Rejoin(fx.cluster, fx.router.backends(), loop, fx.config, lister(fx)));
    }

    @Test
    void aMainRestartedAgainDuringItsResyncIsCopiedAgainIntoTheNewProcess() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        FakeBackend main = fx.fakes[0];
        FakeBackend backup = fx.fakes[1];
        for (int i = 0; i < 200; i++) {
            backup.put("k" + i, "v" + i);
        }
        BackendServer m = fx.cluster.server(0);
        Rejoin rejoin = rejoin(fx);
        m.identity(FIRST);
        m.markDown("killed");
        backup.hold(); // the copies' reads wait until the test lets them through
        m.markSyncing();
        CompletableFuture<Void> first = rejoin.recover(m, SECOND); // another process: empty, resynced
        MemcachedProcess.await("the first copies in flight", Duration.ofSeconds(5),
                () -> call(() -> backup.heldCount()) == Pacer.MAX_IN_FLIGHT);
        onLoop(backup::releaseHeld);
        assertEquals(Pacer.MAX_IN_FLIGHT, onLoop(() -> main.keys().size()), "copied into the second process");

        // the second process dies and a third starts: what was copied went with it
        onLoop(() -> {
            main.restartEmpty();
            m.markDown("restarted");
            return m.markSyncing();
        });
        CompletableFuture<Void> second = rejoin.recover(m, THIRD);
        assertEquals(BackendServer.State.SYNCING, m.state());
        onLoop(backup::release);
        first.get(10, TimeUnit.SECONDS); // superseded: it ends without bringing the server up
        second.get(10, TimeUnit.SECONDS);
        assertEquals(BackendServer.State.UP, m.state());
        assertEquals(200, onLoop(() -> main.keys().size()), "the whole shard is in the current process");
        assertEquals(ResyncProgress.Phase.DONE, m.resyncProgress().phase(), m.resyncProgress().toString());
        assertEquals(2, m.resyncProgress().runs(), "one resync per process");
    }

    @Test
    void aServerThatWentDownDuringItsResyncStaysDown() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        FakeBackend backup = fx.fakes[1];
        backup.put("k", "v");
        BackendServer m = fx.cluster.server(0);
        Rejoin rejoin = rejoin(fx);
        m.identity(FIRST);
        m.markDown("killed");
        backup.hold();
        m.markSyncing();
        CompletableFuture<Void> recovery = rejoin.recover(m, SECOND);
        MemcachedProcess.await("the copy in flight", Duration.ofSeconds(5), () -> call(() -> backup.heldCount()) == 1);
        onLoop(() -> m.markDown("connection refused")); // its copies failed: the prober takes over
        onLoop(backup::release);
        recovery.get(5, TimeUnit.SECONDS);
        assertEquals(BackendServer.State.DOWN, m.state(), "never marked up from down");
    }

    @Test
    void aDelayedFlushAMainMissedIsAppliedAtItsDeadline() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        FakeBackend main = fx.fakes[0];
        FakeBackend backup = fx.fakes[1];
        backup.put("a", "1");
        BackendServer m = fx.cluster.server(0);
        Rejoin rejoin = rejoin(fx);
        m.identity(FIRST);
        m.markDown("cut off");
        assertEquals("OK\r\n", fx.reply("flush_all 3"), "the backup took it");
        assertEquals(List.of("flush_all 3"), backup.sent());
        assertTrue(m.hintsOverflowed(), "the main missed it");
        m.markSyncing();
        rejoin.recover(m, FIRST).get(5, TimeUnit.SECONDS); // the same process: it kept its items
        assertEquals(List.of("flush_all", "add a 0 0 1"), onLoop(() -> List.copyOf(main.sent())),
                "emptied now (not given the delayed flush, which would revive what this flush removed), then copied");
        assertEquals(BackendServer.State.UP, m.state());
        MemcachedProcess.await("the flush at the deadline", Duration.ofSeconds(10),
                () -> call(() -> main.sent().size()) == 3);
        assertEquals("flush_all", onLoop(() -> main.sent().get(2)));
        assertEquals(List.of(), onLoop(main::keys), "what the copy brought over is gone at the deadline");
    }

    @Test
    void aMainRestartedBeforeAPendingDelayedFlushIsFlushedAtItsDeadline() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        FakeBackend main = fx.fakes[0];
        fx.fakes[1].put("a", "1");
        assertEquals("OK\r\n", fx.reply("flush_all 3"), "both took it");
        BackendServer m = fx.cluster.server(0);
        Rejoin rejoin = rejoin(fx);
        m.identity(FIRST);
        m.markDown("killed");
        m.markSyncing();
        rejoin.recover(m, SECOND).get(5, TimeUnit.SECONDS); // restarted: the new process never saw it
        MemcachedProcess.await("the flush at the deadline", Duration.ofSeconds(10),
                () -> call(() -> main.sent().size()) == 3);
        assertEquals(List.of("flush_all 3", "add a 0 0 1", "flush_all"), onLoop(() -> List.copyOf(main.sent())));
    }

    private <T> T call(Callable<T> c) {
        try {
            return onLoop(c);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
