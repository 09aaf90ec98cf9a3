package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/semantics.md, "Repairs never overwrite the future" (issue 12, cases 1 and 2): a read-repair or
 * resync copy reads a key on one copy and adds it to another; a client write, delete or flush of the key
 * issued after that read cancels the add, or takes it back when the write may have overtaken it. Each
 * interleaving is scripted with held fake servers.
 */
class RepairFencesTest {
    private static final byte[] K = "k".getBytes(StandardCharsets.US_ASCII);

    @ParameterizedTest(name = "{0} issued while the repair reads the backup: nothing comes back")
    @ValueSource(strings = {"delete k", "flush_all", "set k 0 0 3\nnew", "append k 0 0 1\nX", "incr k 1",
        "touch k 5"})
    void aWriteIssuedDuringTheRepairsReadCancelsTheRefill(String write) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "7");
        fx.backup("k").hold(); // a slow backup (SIGSTOP in the IT): the repair's mg waits
        RouteFixture.Answer get = fx.call("get k");
        assertEquals(List.of("get k"), fx.main("k").sent(), "the main missed");
        RouteFixture.Answer w = fx.call(write);
        fx.backup("k").release(); // the mg answers the old value, then the write lands on the backup
        assertEquals("VALUE k 0 1\r\n7\r\nEND\r\n", get.text(), "the read was before the write");
        assertTrue(w.answered());
        assertFalse(fx.main("k").sent().contains("add k 0 0 7"),
                "the value read before " + write + " is not refilled: " + fx.main("k").sent());
        assertEquals(1, fx.stats.repairsCancelled());
        String main = fx.main("k").value("k");
        assertTrue(main == null || main.equals(fx.backup("k").value("k")),
                "the main holds nothing (a later read repairs it) or the backup's value after " + write
                        + ": main " + main + ", backup " + fx.backup("k").value("k"));
    }

    @Test
    void aDeleteThatOvertakesTheRefillOnTheMainIsNotUndoneByIt() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "old");
        fx.backup("k").hold();
        RouteFixture.Answer get = fx.call("get k");
        fx.main("k").hold();
        fx.backup("k").release(); // the fence holds: the add is sent, and waits on the main
        assertEquals(List.of("get k", "add k 0 0 old"), fx.main("k").sent());
        RouteFixture.Answer del = fx.call("delete k"); // issued after the check, from another event loop
        fx.main("k").releaseNewestFirst(); // ... whose connection reaches the main first
        assertEquals("VALUE k 0 3\r\nold\r\nEND\r\n", get.text());
        assertEquals("NOT_FOUND\r\n", del.text());
        assertEquals(List.of("get k", "add k 0 0 old", "delete k", "delete k"), fx.main("k").sent(),
                "the add landed after the delete and was taken back");
        assertNull(fx.main("k").value("k"), "k stays deleted");
        assertNull(fx.backup("k").value("k"));
        assertEquals(1, fx.stats.repairsCancelled());
    }

    @Test
    void aRepairWithNoWriteSinceRefillsAsBefore() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b");
        fx.call("set other 0 0 1\nx"); // another key's write does not fence this one (unless they share a stripe)
        fx.backup("k").hold();
        RouteFixture.Answer get = fx.call("get k");
        fx.backup("k").release();
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", get.text());
        assertEquals("b", fx.main("k").value("k"));
        assertEquals(1, fx.stats.readRepairs());
        assertEquals(0, fx.stats.repairsCancelled());
    }

}
