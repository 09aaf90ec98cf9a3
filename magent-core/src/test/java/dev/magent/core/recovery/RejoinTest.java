package dev.magent.core.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.Transport;
import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.route.RouteFixture;
import io.netty.channel.DefaultEventLoop;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "Rejoin", hinted handoff through the send contract: a server that was cut off (same
 * process) gets exactly its hinted keys rewritten from another copy, delete then add, before the hints go.
 */
class RejoinTest {
    private final DefaultEventLoop loop = new DefaultEventLoop();
    private static final HealthProber.ServerIdentity SAME = new HealthProber.ServerIdentity(42, 1000, 500);

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    /** Recovers the key's main as the prober would, after it answered again as the same process. */
    private void recoverMain(RouteFixture fx, String key) throws Exception {
        BackendServer main = fx.server(0, key);
        Rejoin rejoin = loop.submit(() -> new Rejoin(fx.cluster, fx.router.backends(), loop, Transport.NIO, null, fx.config)).get();
        main.identity(SAME);
        main.markDown("test");
        main.markSyncing();
        rejoin.recover(main, SAME).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aHintedKeyIsRewrittenFromTheBackupThenForgotten() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "old");
        fx.backup("k").put("k", "new", 2, 0);
        fx.server(0, "k").hints().record("k".getBytes());
        recoverMain(fx, "k");
        assertEquals(List.of("delete k", "add k 2 0 new"), fx.main("k").sent());
        assertEquals("new", fx.main("k").value("k"));
        assertTrue(fx.server(0, "k").hints().isEmpty());
        assertEquals(BackendServer.State.UP, fx.server(0, "k").state());
    }

    @Test
    void aKeyDeletedWhileAwayStaysDeleted() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "old");
        fx.server(0, "k").hints().record("k".getBytes());
        recoverMain(fx, "k");
        assertNull(fx.main("k").value("k"));
        assertTrue(fx.server(0, "k").hints().isEmpty());
    }

    @Test
    void threeCopiesTheSourceIsTheFirstCopyInService() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1, 1);
        fx.main("k").put("k", "old");
        fx.copy(2, "k").put("k", "third");
        fx.server(1, "k").markDown("test");
        fx.server(0, "k").hints().record("k".getBytes());
        recoverMain(fx, "k");
        assertEquals("third", fx.main("k").value("k"));
        assertEquals(List.of(), fx.copy(1, "k").sent(), "a copy out of service is not read");
    }

    @Test
    void withNoCopyInServiceTheHintStays() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "old");
        fx.server(1, "k").markDown("test");
        fx.server(0, "k").hints().record("k".getBytes());
        recoverMain(fx, "k");
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()), "reads keep going elsewhere; retried later");
    }

    @Test
    void aCopyThatFailsKeepsTheHint() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "old");
        fx.backup("k").put("k", "new").failing(BackendException.Reason.TIMEOUT);
        fx.server(0, "k").hints().record("k".getBytes());
        recoverMain(fx, "k");
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
    }
}
