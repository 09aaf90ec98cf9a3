package dev.magent.core.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.WriteFences;
import dev.magent.core.route.RouteFixture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "Repairs never overwrite the future" (issue 12, case 2), for the resync's and the hint
 * replay's copy of one key: a client write, delete or flush issued after the copy's read (or a flush on its
 * way when it read) cancels its add, or takes it back when the write may have overtaken it.
 */
class KeyCopierFencesTest {
    private static final byte[] K = "k".getBytes(StandardCharsets.US_ASCII);

    @Test
    void aResyncCopyRacingAFlushIsCancelled() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        KeyCopier copier = new KeyCopier(fx.router.backends(), fx.cluster.fences());
        fx.backup("k").put("k", "b");
        fx.backup("k").hold();
        CompletableFuture<Boolean> copy = copier.copy(fx.server(1, "k"), fx.server(0, "k"), K, false);
        RouteFixture.Answer flush = fx.call("flush_all"); // the main flushes at once; the backup after the mg
        fx.backup("k").release();
        assertEquals("OK\r\n", flush.text());
        assertFalse(copy.join(), "not settled: the copy read the past");
        assertNull(fx.main("k").value("k"), "the flushed key is not copied back");
        assertEquals(1, fx.server(0, "k").resyncProgress().cancelled());
        assertEquals(0, fx.server(0, "k").resyncProgress().copied());
    }

    @Test
    void aResyncCopyReadingWhileAFlushIsOnItsWayIsCancelled() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        KeyCopier copier = new KeyCopier(fx.router.backends(), fx.cluster.fences());
        fx.backup("k").put("k", "b");
        fx.backup("k").hold();
        RouteFixture.Answer flush = fx.call("flush_all"); // the main flushed; the backup's flush waits
        CompletableFuture<Boolean> copy = copier.copy(fx.server(1, "k"), fx.server(0, "k"), K, false);
        fx.backup("k").releaseNewestFirst(); // the copy's read, on another connection, is served first
        assertEquals("OK\r\n", flush.text());
        assertFalse(copy.join(), "read before the flush reached the source: the past");
        assertNull(fx.main("k").value("k"));
        assertEquals(1, fx.server(0, "k").resyncProgress().cancelled());
    }

    @Test
    void aResyncCopyOvertakenByADeleteIsTakenBack() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        KeyCopier copier = new KeyCopier(fx.router.backends(), fx.cluster.fences());
        fx.backup("k").put("k", "b");
        fx.main("k").hold();
        CompletableFuture<Boolean> copy = copier.copy(fx.server(1, "k"), fx.server(0, "k"), K, false);
        fx.call("delete k"); // after the add was sent, overtaking it
        fx.main("k").releaseNewestFirst();
        assertFalse(copy.join());
        assertEquals(List.of("add k 0 0 b", "delete k", "delete k"), fx.main("k").sent());
        assertNull(fx.main("k").value("k"));
    }

    @Test
    void aResyncCopyWithNoWriteSinceIsCopied() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        KeyCopier copier = new KeyCopier(fx.router.backends(), fx.cluster.fences());
        fx.backup("k").put("k", "b", 3, 0);
        assertTrue(copier.copy(fx.server(1, "k"), fx.server(0, "k"), K, false).join());
        assertEquals("b", fx.main("k").value("k"));
        assertEquals(1, fx.server(0, "k").resyncProgress().copied());
    }

    @Test
    void aDelayedFlushFencesCopiesAcrossItsDeadline() {
        WriteFences fences = new WriteFences();
        long now = 1_000_000;
        WriteFences.Fence early = fences.before(K, now);
        fences.flushed(10, now + 1);
        assertFalse(fences.holds(early, now + 2), "a flush issued after the read");
        assertFalse(fences.holds(fences.before(K, now + 5), now + 6), "read while the flush is on its way");
        fences.flushDone();
        WriteFences.Fence afterIssue = fences.before(K, now + 10);
        assertTrue(fences.holds(afterIssue, now + 20), "read and written well before the deadline: the "
                + "target flushes the add itself when the deadline comes");
        assertFalse(fences.holds(afterIssue, now + 9_000), "read before the deadline, written about it");
        assertFalse(fences.holds(afterIssue, now + 20_000), "read before the deadline, written after it");
        WriteFences.Fence afterDeadline = fences.before(K, now + 13_000);
        assertTrue(fences.holds(afterDeadline, now + 14_000), "read after the deadline: the source is flushed");
        fences.flushed(-1, now + 15_000);
        fences.flushDone();
        assertEquals(0, fences.pendingFlushDeadline(now + 15_000), "an immediate flush replaces a delayed one");
    }

    /** Across proxies: a delete through another proxy reached both copies while the copy's add was on its way. */
    @Test
    void aCopyWhoseSourceChangedThroughAnotherProxyIsTakenBack() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        KeyCopier copier = new KeyCopier(fx.router.backends(), fx.cluster.fences());
        fx.backup("k").put("k", "old");
        fx.main("k").hold();
        CompletableFuture<Boolean> copy = copier.copy(fx.server(1, "k"), fx.server(0, "k"), K, false);
        fx.backup("k").restartEmpty(); // the other proxy's delete, unseen by this proxy's fences
        fx.main("k").release();
        assertFalse(copy.join(), "the value copied is gone from the source: the past");
        assertNull(fx.main("k").value("k"), "not left on the target, where the other proxy deleted it too");
        assertEquals(1, fx.server(0, "k").resyncProgress().cancelled());
    }

    @Test
    void aCopyWhoseSourceIsUnchangedStays() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        KeyCopier copier = new KeyCopier(fx.router.backends(), fx.cluster.fences());
        fx.backup("k").put("k", "v");
        assertTrue(copier.copy(fx.server(1, "k"), fx.server(0, "k"), K, false).join());
        assertEquals("v", fx.main("k").value("k"));
        assertEquals(1, fx.server(0, "k").resyncProgress().copied());
    }
}
