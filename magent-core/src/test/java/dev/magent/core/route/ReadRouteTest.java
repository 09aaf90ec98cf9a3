package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.FakeBackend;
import dev.magent.protocol.MetaReply;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** docs/semantics.md, "Reads" and "Read-repair", one key: get, gets, gat, gats. */
class ReadRouteTest {

    @Test
    void aHitComesFromTheMainAlone() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v", 5, 0);
        fx.backup("k").put("k", "other");
        assertEquals("VALUE k 5 1\r\nv\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of(), fx.backup("k").sent());
        assertEquals(1, fx.stats.getHits());
    }

    @Test
    void getsCarriesTheMainsCasUnique() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        long cas = fx.main("k").item("k").cas();
        assertEquals("VALUE k 0 1 " + cas + "\r\nv\r\nEND\r\n", fx.reply("gets k"));
    }

    @Test
    void aMainThatIsDownIsSkipped() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b");
        fx.server(0, "k").markDown("test");
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of(), fx.main("k").sent());
        assertEquals(1, fx.stats.failovers());
    }

    @Test
    void aSyncingMainDoesNotServeReads() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "stale");
        fx.backup("k").put("k", "b");
        fx.server(0, "k").markDown("test");
        fx.server(0, "k").markSyncing();
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", fx.reply("get k"));
    }

    @ParameterizedTest(name = "a main failing with {0} fails over to the backup")
    @CsvSource({"TIMEOUT", "CONNECTION", "PROTOCOL", "LOCAL"})
    void aFailingMainFailsOver(BackendException.Reason reason) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b");
        fx.main("k").failing(reason);
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", fx.reply("get k"));
        assertEquals(1, fx.stats.failovers());
        assertFalse(fx.server(0, "k").hints().contains("k".getBytes()), "a failed read is not a missed write");
    }

    @Test
    void aMainAnsweringAnErrorFailsOver() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b");
        fx.main("k").replyNext(dev.magent.protocol.ErrorReply.server("busy"));
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", fx.reply("get k"));
    }

    @Test
    void aKeyStaleOnTheMainIsReadFromTheBackup() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "old");
        fx.backup("k").put("k", "new");
        fx.server(0, "k").hints().record("k".getBytes());
        assertEquals("VALUE k 0 3\r\nnew\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of(), fx.main("k").sent());
    }

    @Test
    void bothFailingIsTheErrorNamingBoth() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.server(1, "k").markDown("test");
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 timed out, "
                + "backup 10.0.1.1:11211 is down\r\n", fx.reply("get k"));
    }

    @Test
    void aMissIsRepairedFromTheBackupWithItsFlagsAndTtl() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b", 7, 300);
        assertEquals("VALUE k 7 1\r\nb\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of("get k", "add k 7 300 b"), fx.main("k").sent());
        assertEquals(List.of("mg k v f t"), fx.backup("k").sent());
        assertEquals(1, fx.stats.readRepairs());
        assertEquals(1, fx.stats.getHits());
    }

    @Test
    void aMissOnBothIsAMiss() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        assertEquals("END\r\n", fx.reply("get k"));
        assertEquals(List.of("get k"), fx.main("k").sent(), "nothing to refill");
        assertEquals(1, fx.stats.getMisses());
        assertEquals(0, fx.stats.readRepairs());
    }

    @Test
    void withoutRepairAMissIsAMiss() {
        RouteFixture fx = RouteFixture.withoutRepair(1, 1);
        fx.backup("k").put("k", "b");
        assertEquals("END\r\n", fx.reply("get k"));
        assertEquals(List.of(), fx.backup("k").sent());
    }

    @Test
    void aBackupStaleForTheKeyIsNotARepairSource() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "stale");
        fx.server(1, "k").hints().record("k".getBytes());
        assertEquals("END\r\n", fx.reply("get k"));
        assertEquals(List.of(), fx.backup("k").sent());
    }

    @Test
    void aRepairAddDoesNotOverwriteAWriteThatCameFirst() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b");
        fx.backup("k").hold();
        RouteFixture.Answer a = fx.call("get k");
        fx.main("k").put("k", "newer"); // a client's set lands while the mg is out
        fx.backup("k").release();
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", a.text());
        assertEquals("newer", fx.main("k").value("k"), "add never overwrites");
        assertEquals(0, fx.stats.readRepairs());
    }

    @ParameterizedTest(name = "remaining TTL {0} -> add exptime {1}")
    @CsvSource({"-1, 0", "1, 1", "300, 300", "2592000, 2592000"})
    void theRefillKeepsTheRemainingTtl(long remaining, long exptime) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").replyNext(new MetaReply("VA", List.of("f0", "t" + remaining),
                Unpooled.copiedBuffer("b", StandardCharsets.US_ASCII)));
        fx.reply("get k");
        assertEquals(List.of("get k", "add k 0 " + exptime + " b"), fx.main("k").sent());
    }

    @Test
    void anItemAboutToExpireIsServedButNotCopied() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").replyNext(new MetaReply("VA", List.of("f0", "t0"),
                Unpooled.copiedBuffer("b", StandardCharsets.US_ASCII)));
        assertEquals("VALUE k 0 1\r\nb\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of("get k"), fx.main("k").sent());
    }

    @Test
    void aTtlBeyondThirtyDaysBecomesAnAbsoluteTime() {
        long now = System.currentTimeMillis() / 1000;
        long exptime = ReadRepair.exptimeForRemainingTtl(40L * 24 * 3600);
        assertTrue(exptime >= now + 40L * 24 * 3600 && exptime <= now + 40L * 24 * 3600 + 5, "absolute: " + exptime);
    }

    @Test
    void getsAfterARepairCarriesTheBackupsUnique() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b");
        long cas = fx.backup("k").item("k").cas();
        assertEquals("VALUE k 0 1 " + cas + "\r\nb\r\nEND\r\n", fx.reply("gets k"));
        assertEquals(List.of("mg k v f t c"), fx.backup("k").sent());
    }

    @Test
    void gatTouchesTheBackupToo() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v");
        assertEquals("VALUE k 0 1\r\nv\r\nEND\r\n", fx.reply("gat 60 k"));
        assertEquals(List.of("gat 60 k"), fx.backup("k").sent());
        assertEquals(60, fx.backup("k").item("k").exptime());
    }

    @Test
    void threeCopiesReadTheSecondBackupWhenTheFirstTwoAreOut() {
        RouteFixture fx = RouteFixture.pools(2, 1, 1);
        fx.copy(2, "k").put("k", "third");
        fx.server(0, "k").markDown("test");
        fx.copy(1, "k").failing(BackendException.Reason.CONNECTION);
        assertEquals("VALUE k 0 5\r\nthird\r\nEND\r\n", fx.reply("get k"));
        assertEquals(1, fx.stats.failovers());
    }

    @Test
    void threeCopiesRepairFromTheFirstCopyThatHasIt() {
        RouteFixture fx = RouteFixture.pools(2, 1, 1);
        fx.copy(2, "k").put("k", "third", 3, 0);
        assertEquals("VALUE k 3 5\r\nthird\r\nEND\r\n", fx.reply("get k"));
        assertEquals(List.of("mg k v f t", "add k 3 0 third"), fx.copy(1, "k").sent(), "it missed too");
        assertEquals(List.of("mg k v f t"), fx.copy(2, "k").sent());
        assertEquals("third", fx.main("k").value("k"), "the main is refilled");
    }

    @Test
    void threeCopiesACopyThatMissedOnTheWayIsRefilledToo() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(2, "k").put("k", "third");
        assertEquals("VALUE k 0 5\r\nthird\r\nEND\r\n", fx.reply("get k"));
        assertEquals("third", fx.main("k").value("k"));
        assertEquals("third", fx.copy(1, "k").value("k"), "the first backup (restarted empty, say) is refilled");
        assertEquals(2, fx.stats.readRepairs());
    }

    @Test
    void threeCopiesAllFailingNamesEach() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        for (FakeBackend f : fx.fakes) {
            f.failing(BackendException.Reason.TIMEOUT);
        }
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 timed out, "
                + "backup 10.0.1.1:11211 timed out, backup 10.0.2.1:11211 timed out\r\n", fx.reply("get k"));
    }

    @Test
    void aMissOnAFailedOverCopyIsRepairedFromTheCopiesAfterIt() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.server(0, "k").markDown("test");
        fx.copy(2, "k").put("k", "third");
        assertEquals("VALUE k 0 5\r\nthird\r\nEND\r\n", fx.reply("get k"));
        assertEquals("third", fx.copy(1, "k").value("k"), "the first backup, which missed, is refilled");
    }

    @Test
    void aHeldMainAnswersOnce() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "v").hold();
        RouteFixture.Answer a = fx.call("get k");
        assertFalse(a.answered());
        fx.main("k").release();
        assertEquals("VALUE k 0 1\r\nv\r\nEND\r\n", a.text());
        assertEquals(1, a.calls());
    }
}
