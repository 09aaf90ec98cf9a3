package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import org.junit.jupiter.api.Test;

/** docs/semantics.md, "Rejoin": every write a copy misses is hinted; past the log's capacity it is taken out. */
class HintedWritesTest {

    @Test
    void aWriteTheBackupMissesIsHintedForThatKeyOnly() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").failNext(1, BackendException.Reason.TIMEOUT);
        fx.reply("set k 0 0 1\nv");
        fx.reply("set j 0 0 1\nv");
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()));
        assertFalse(fx.server(1, "k").hints().contains("j".getBytes()));
    }

    @Test
    void aHintedKeyIsReadFromTheOtherCopyUntilRewritten() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failNext(1, BackendException.Reason.TIMEOUT);
        fx.reply("set k 0 0 3\nnew");
        fx.main("k").put("k", "old"); // what it held before the write it missed
        assertEquals("VALUE k 0 3\r\nnew\r\nEND\r\n", fx.reply("get k"));
        assertEquals("VALUE k 0 3\r\nnew\r\nVALUE k 0 3\r\nnew\r\nEND\r\n", fx.reply("get k k"));
    }

    @Test
    void aServerInServiceWhoseHintLogOverflowsIsTakenOut() {
        RouteFixture fx = RouteFixture.withHintCapacity(1, 1, 1);
        fx.backup("a").failing(BackendException.Reason.TIMEOUT);
        fx.reply("set a 0 0 1\nv");
        assertEquals(BackendServer.State.UP, fx.server(1, "a").state(), "one hinted key fits");
        fx.reply("set b 0 0 1\nv");
        assertTrue(fx.server(1, "a").hints().overflowed());
        assertEquals(BackendServer.State.DOWN, fx.server(1, "a").state(),
                "it missed writes nobody can list: flushed and resynced before it serves again");
    }

    @Test
    void aDeleteTheMainMissesIsHintedSoTheKeyStaysDeletedForReaders() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v");
        fx.server(0, "k").markDown("test");
        assertEquals("DELETED\r\n", fx.reply("delete k"));
        fx.server(0, "k").markUp(); // back, its hint not yet rewritten
        assertEquals("END\r\n", fx.reply("get k"), "the main's old copy is not served");
    }

    @Test
    void aFailedGatTouchHintsTheCopy() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        fx.backup("k").failing(BackendException.Reason.CONNECTION);
        assertEquals("VALUE k 0 1\r\nv\r\nEND\r\n", fx.reply("gat 10 k"));
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()), "its TTL is out of step");
    }

    @Test
    void aRetrievalFailureIsNotAHint() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.reply("get k");
        fx.reply("get k j");
        assertTrue(fx.server(0, "k").hints().isEmpty());
    }

    @Test
    void whenEveryCopyFailsOnlyTheMainIsHinted() {
        // a backup hinted too would leave no fresh copy of the key: every later write would fail
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.server(0, "k").hints().record("k".getBytes()); // stale on the main (a resync is copying it)
        fx.backup("k").failNext(1, BackendException.Reason.TIMEOUT);
        assertTrue(fx.reply("delete k").startsWith("SERVER_ERROR no server available for key k"));
        assertFalse(fx.server(1, "k").hints().contains("k".getBytes()));
        assertEquals("NOT_FOUND\r\n", fx.reply("delete k"), "the next write reaches the backup");
    }

    @Test
    void aBackupSkippedOnTheWayToTheAnswerIsHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.copy(1, "k").failing(BackendException.Reason.CONNECTION);
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()));
    }
}
