package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "One order per key": a write a route sends to a copy only after the replies (incr's
 * correction, a lost counter's refill, a cas's copies) never lands after a later write of the key; the
 * copy is hinted instead. Scripted: the copy is slow (held) while the later write is routed.
 */
class LaterWritesTest {
    private static final byte[] K = "k".getBytes(StandardCharsets.US_ASCII);

    @Test
    void anIncrCorrectionIsNotSentOverALaterSet() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10");
        fx.backup("k").put("k", "3"); // drifted: the incr's results will differ
        fx.backup("k").hold();
        RouteFixture.Answer incr = fx.call("incr k 1");
        assertEquals("11\r\n", incr.text());
        assertEquals("STORED\r\n", fx.reply("set k 0 0 3\n100"));
        fx.backup("k").release(); // the backup applies incr, then set; then incr's correction would follow
        assertEquals("100", fx.main("k").value("k"));
        assertEquals("100", fx.backup("k").value("k"), "the set 11 would have overwritten it");
        assertEquals(List.of("incr k 1", "set k 0 0 100"), fx.backup("k").sent());
        assertTrue(fx.server(1, "k").hints().contains(K), "hinted: rewritten from the main by the sweep");
        assertEquals(0, fx.router.routeContext().laterWrites().watching());
    }

    @Test
    void anIncrCorrectionWithoutALaterWriteIsSent() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10");
        fx.backup("k").put("k", "3");
        fx.main("k").put("other", "o");
        fx.backup("k").hold();
        assertEquals("11\r\n", fx.call("incr k 1").text());
        assertEquals("VALUE other 0 1\r\no\r\nEND\r\n", fx.reply("get other")); // a read, or another key's write, is no later write
        assertEquals("STORED\r\n", fx.reply("set other 0 0 1\nx"));
        fx.backup("k").release();
        assertEquals("11", fx.backup("k").value("k"));
        assertFalse(fx.server(1, "k").hints().contains(K));
    }

    @Test
    void aLostCounterIsNotRefilledOverALaterDelete() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "10");
        fx.backup("k").hold();
        RouteFixture.Answer incr = fx.call("incr k 1"); // the main answers NOT_FOUND: waits for the backup
        RouteFixture.Answer delete = fx.call("delete k");
        fx.backup("k").release();
        assertEquals("11\r\n", incr.text());
        assertEquals("NOT_FOUND\r\n", delete.text(), "the main's reply: it had lost the counter");
        assertNull(fx.main("k").value("k"), "an add after the delete would bring the counter back");
        assertNull(fx.backup("k").value("k"));
        assertEquals(List.of("incr k 1", "delete k"), fx.main("k").sent());
    }

    @Test
    void aStoredCasIsNotCopiedOverALaterDelete() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v");
        long cas = fx.main("k").item("k").cas();
        fx.main("k").hold();
        RouteFixture.Answer stored = fx.call("cas k 0 0 1 " + cas + "\nw");
        RouteFixture.Answer deleted = fx.call("delete k");
        fx.main("k").release();
        assertEquals("STORED\r\n", stored.text());
        assertEquals("DELETED\r\n", deleted.text());
        assertNull(fx.main("k").value("k"));
        assertNull(fx.backup("k").value("k"), "the cas's set after the delete would have revived it");
        assertTrue(fx.server(1, "k").hints().contains(K));
    }

    @Test
    void aWriteRoutedWhileTheCasIsAnsweredFollowsItsCopies() {
        // a client's next request can be routed from inside the answer to its cas (its backlog resumes)
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v");
        long cas = fx.main("k").item("k").cas();
        RouteFixture.Answer next = new RouteFixture.Answer();
        fx.router.route(RouteFixture.parse("cas k 0 0 1 " + cas + "\nw"), (reply, failure) -> {
            io.netty.util.ReferenceCountUtil.release(reply);
            fx.router.route(RouteFixture.parse("set k 0 0 1\nz"), next);
        });
        assertEquals("STORED\r\n", next.text());
        assertEquals("z", fx.main("k").value("k"));
        assertEquals("z", fx.backup("k").value("k"), "the cas's copy went first");
    }

    @Test
    void aFlushCountsAsALaterWriteOfEveryKey() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10");
        fx.backup("k").put("k", "3");
        fx.backup("k").hold();
        assertEquals("11\r\n", fx.call("incr k 1").text());
        RouteFixture.Answer flush = fx.call("flush_all");
        fx.backup("k").release();
        assertEquals("OK\r\n", flush.text());
        assertNull(fx.backup("k").value("k"));
        assertEquals(0, fx.router.routeContext().laterWrites().watching());
    }

    @Test
    void watchesEndWhenEveryCopyFails() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(dev.magent.core.backend.BackendException.Reason.TIMEOUT);
        fx.backup("k").failing(dev.magent.core.backend.BackendException.Reason.TIMEOUT);
        fx.reply("incr k 1");
        fx.reply("cas k 0 0 1 5\nw");
        assertEquals(0, fx.router.routeContext().laterWrites().watching());
    }
}
