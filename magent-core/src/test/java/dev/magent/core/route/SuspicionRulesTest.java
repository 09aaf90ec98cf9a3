package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.SuspicionGate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/partitions.md, "No stale reads across proxies", as the routes apply it: a server another proxy
 * suspects is not read and its counts are not trusted; a write that missed a copy is acknowledged only
 * through the suspicion gate; a delete answers once every copy has. The records themselves are
 * SuspicionBoardIT's, on real memcached.
 */
class SuspicionRulesTest {

    /** A gate that holds every acknowledgement until the test lets it go. */
    private static final class HeldGate implements SuspicionGate {
        final List<BackendServer> missed = new ArrayList<>();
        final List<Runnable> acknowledge = new ArrayList<>();
        final List<Runnable> refuse = new ArrayList<>();

        @Override
        public void whenVisible(BackendServer server, io.netty.util.concurrent.EventExecutor loop, Runnable ok,
                                Runnable no) {
            missed.add(server);
            acknowledge.add(ok);
            refuse.add(no);
        }

        @Override
        public boolean alone() {
            return false; // another proxy is about
        }
    }

    private static RouteFixture withGate(HeldGate gate) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.router.joinSuspicions(gate, null);
        return fx;
    }

    private static void suspectElsewhere(BackendServer s) {
        s.suspicion(new BackendServer.Suspicion(List.of("proxy-2"), System.currentTimeMillis(), false));
    }

    @Test
    void aWriteFailedOverFromTheMainIsAcknowledgedOnlyOnceTheGateLetsIt() {
        HeldGate gate = new HeldGate();
        RouteFixture fx = withGate(gate);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        assertFalse(a.answered(), "held until the other proxies can know the main missed it");
        assertEquals(List.of(fx.server(0, "k")), gate.missed);
        gate.acknowledge.get(0).run();
        assertEquals("STORED\r\n", a.text());
    }

    @Test
    void aWriteWhoseSuspicionCannotBeRecordedIsNotAcknowledged() {
        HeldGate gate = new HeldGate();
        RouteFixture fx = withGate(gate);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        gate.refuse.get(0).run();
        assertTrue(a.text().startsWith("SERVER_ERROR write not acknowledged: "), a.text());
        assertEquals("v", fx.backup("k").value("k"), "the write reached the backup (a failed write may have happened)");
    }

    @Test
    void aWriteThatReachedEveryCopyIsNotHeld() {
        HeldGate gate = new HeldGate();
        RouteFixture fx = withGate(gate);
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals(List.of(), gate.missed);
    }

    @Test
    void aDeleteAnswersOnlyOnceEveryCopyHas() {
        RouteFixture fx = withGate(new HeldGate());
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v").hold();
        RouteFixture.Answer a = fx.call("delete k");
        assertFalse(a.answered(), "the backup still holds k: another proxy could read it and repair it back");
        fx.backup("k").release();
        assertEquals("DELETED\r\n", a.text());
    }

    @Test
    void aSetAnswersOnlyOnceEveryCopyHasWhenAnotherProxyIsAbout() {
        RouteFixture fx = withGate(new HeldGate());
        fx.backup("k").hold();
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        assertFalse(a.answered(), "another proxy's repair could copy the backup's old value over it");
        fx.backup("k").release();
        assertEquals("STORED\r\n", a.text());
    }

    @Test
    void anIncrementAnswersOnceEveryCopyCountedWhenAnotherProxyIsAbout() {
        RouteFixture fx = withGate(new HeldGate());
        fx.main("k").put("k", "10");
        fx.backup("k").put("k", "10").hold();
        RouteFixture.Answer a = fx.call("incr k 1");
        assertFalse(a.answered());
        fx.backup("k").release();
        assertEquals("11\r\n", a.text());
    }

    @Test
    void aProxyThatIsAloneAnswersADeleteWithTheMain() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v").hold();
        assertEquals("DELETED\r\n", fx.call("delete k").text(), "its own reads are fenced (RepairFencesTest)");
        fx.backup("k").release();
    }

    @Test
    void aDeleteTheBackupMissedIsAcknowledgedThroughTheGate() {
        HeldGate gate = new HeldGate();
        RouteFixture fx = withGate(gate);
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v").failing(BackendException.Reason.TIMEOUT);
        RouteFixture.Answer a = fx.call("delete k");
        assertFalse(a.answered());
        assertEquals(List.of(fx.server(1, "k")), gate.missed);
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()), "hinted before the gate is asked");
        gate.acknowledge.get(0).run();
        assertEquals("DELETED\r\n", a.text());
    }

    @Test
    void aMainAnotherProxySuspectsIsNotReadAndTheBackupAnswers() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "old");
        fx.backup("k").put("k", "new");
        suspectElsewhere(fx.server(0, "k"));
        assertEquals("VALUE k 0 3\r\nnew\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of(), fx.main("k").sent());
        fx.server(0, "k").suspicion(BackendServer.Suspicion.NONE);
        assertEquals("VALUE k 0 3\r\nold\r\nEND\r\n", fx.reply("get k"), "read again once no proxy suspects it");
    }

    @Test
    void aStaleViewOfTheRecordsKeepsReadsOffTheServerToo() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "old");
        fx.backup("k").put("k", "new");
        fx.server(0, "k").suspicion(new BackendServer.Suspicion(List.of(), 0, true));
        assertEquals("VALUE k 0 3\r\nnew\r\nEND\r\n", fx.reply("get k"));
    }

    @Test
    void aMultiGetSkipsASuspectedMain() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("a").put("a", "old").put("b", "old");
        fx.backup("a").put("a", "new").put("b", "new");
        suspectElsewhere(fx.server(0, "a"));
        assertEquals("VALUE a 0 3\r\nnew\r\nVALUE b 0 3\r\nnew\r\nEND\r\n", fx.reply("get a b"));
    }

    @Test
    void anIncrementAnswersFromTheBackupWhenTheMainIsSuspectedAndSetsTheMainToIt() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10"); // missed the increments another proxy failed over to the backup
        fx.backup("k").put("k", "15");
        suspectElsewhere(fx.server(0, "k"));
        assertEquals("16\r\n", fx.reply("incr k 1"));
        assertEquals("16", fx.main("k").value("k"), "the main is set to the backup's count, not the reverse");
        assertEquals("16", fx.backup("k").value("k"));
    }

    @Test
    void anIncrementFailedOverFromTheMainGoesThroughTheGate() {
        HeldGate gate = new HeldGate();
        RouteFixture fx = withGate(gate);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.backup("k").put("k", "10");
        RouteFixture.Answer a = fx.call("incr k 1");
        assertFalse(a.answered());
        gate.acknowledge.get(0).run();
        assertEquals("11\r\n", a.text());
    }
}
