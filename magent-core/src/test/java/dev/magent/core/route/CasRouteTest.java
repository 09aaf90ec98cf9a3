package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** docs/semantics.md, "gets and cas": cas goes where gets went. */
class CasRouteTest {

    @Test
    void aStoredCasIsCopiedToTheBackupAsASet() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        long cas = fx.main("k").item("k").cas();
        assertEquals("STORED\r\n", fx.reply("cas k 3 60 1 " + cas + "\nw"));
        assertEquals(List.of("set k 3 60 w"), fx.backup("k").sent());
        assertEquals("w", fx.backup("k").value("k"));
    }

    @Test
    void existsChangesNothingOnTheBackup() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        assertEquals("EXISTS\r\n", fx.reply("cas k 0 0 1 999999\nw"));
        assertEquals(List.of(), fx.backup("k").sent());
    }

    @Test
    void notFoundChangesNothingOnTheBackup() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        assertEquals("NOT_FOUND\r\n", fx.reply("cas k 0 0 1 1\nw"));
        assertEquals(List.of(), fx.backup("k").sent());
    }

    @Test
    void whileTheMainIsDownCasGoesToTheBackup() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "v");
        long cas = fx.backup("k").item("k").cas();
        fx.server(0, "k").markDown("test");
        assertEquals("STORED\r\n", fx.reply("cas k 0 0 1 " + cas + "\nw"));
        assertEquals(1, fx.stats.failovers());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()), "the main missed it");
    }

    @Test
    void aCasWhoseMainTimesOutIsNotRetried() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 timed out\r\n",
                fx.reply("cas k 0 0 1 5\nw"));
        assertEquals(List.of(), fx.backup("k").sent());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()), "it may or may not have applied it");
    }

    @Test
    void bothDownNamesBoth() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.server(0, "k").markDown("test");
        fx.server(1, "k").markDown("test");
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 is down, "
                + "backup 10.0.1.1:11211 is down\r\n", fx.reply("cas k 0 0 1 5\nw"));
    }

    @Test
    void threeCopiesAStoredCasSetsBothOthers() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "v");
        long cas = fx.main("k").item("k").cas();
        assertEquals("STORED\r\n", fx.reply("cas k 0 0 1 " + cas + "\nw"));
        assertEquals("w", fx.copy(1, "k").value("k"));
        assertEquals("w", fx.copy(2, "k").value("k"));
    }

    @Test
    void threeCopiesCasGoesToTheFirstCopyServingReads() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(2, "k").put("k", "v");
        long cas = fx.copy(2, "k").item("k").cas();
        fx.server(0, "k").markDown("test");
        fx.server(1, "k").markDown("test");
        assertEquals("STORED\r\n", fx.reply("cas k 0 0 1 " + cas + "\nw"));
    }
}
