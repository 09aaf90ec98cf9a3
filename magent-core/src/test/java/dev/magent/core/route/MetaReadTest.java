package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.protocol.MetaReply;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "The meta protocol": mg and me fail over through every copy in order, an mg miss is
 * read from the next copies and repaired, as get's; three copies (a main and two backup pools) unless said.
 */
class MetaReadTest {

    @Test
    void theMainAnswersAndNoOtherCopyIsAsked() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "hi", 5, 0);
        assertEquals("VA 2 f5\r\nhi\r\n", fx.reply("mg k v f"));
        assertEquals(List.of(), fx.copy(1, "k").sent());
        assertEquals(List.of(), fx.copy(2, "k").sent());
        assertEquals(1, fx.stats.getHits());
    }

    @Test
    void aMainAndFirstBackupDownFailOverToTheThirdCopy() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").failing(BackendException.Reason.CONNECTION);
        fx.server(1, "k").markDown("test");
        fx.copy(2, "k").put("k", "hi");
        assertEquals("VA 2 O7\r\nhi\r\n", fx.reply("mg k v O7"));
        assertEquals(1, fx.stats.failovers());
        assertEquals(List.of(), fx.copy(1, "k").sent(), "a copy that is down is skipped");
    }

    @Test
    void aCopyHintedStaleForTheKeyIsSkipped() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "old");
        fx.copy(1, "k").put("k", "new");
        fx.server(0, "k").hints().record("k".getBytes());
        assertEquals("VA 3\r\nnew\r\n", fx.reply("mg k v"));
        assertEquals(List.of(), fx.main("k").sent());
    }

    @Test
    void aServerErrorFailsOverToo() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").replyNext(dev.magent.protocol.ErrorReply.server("out of memory"));
        fx.backup("k").put("k", "hi");
        assertEquals("VA 2\r\nhi\r\n", fx.reply("mg k v"));
    }

    @Test
    void everyCopyFailingNamesEveryCopy() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        for (int p = 0; p < 3; p++) {
            fx.server(p, "k").markDown("test");
        }
        String reply = fx.reply("mg k v");
        assertTrue(reply.startsWith("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 is down, "
                + "backup 10.0.1.1:11211 is down, "), reply);
        assertTrue(reply.contains("10.0.2.1:11211 is down"), reply);
    }

    @Test
    void aMissOnTheMainAndFirstBackupIsReadFromTheThirdAndBothAreRefilled() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(2, "k").put("k", "hi", 3, 100);
        assertEquals("VA 2 f3 O1\r\nhi\r\n", fx.reply("mg k v f O1"));
        assertEquals("hi", fx.main("k").value("k"));
        assertEquals(3, fx.main("k").item("k").flags());
        assertEquals(100, fx.main("k").item("k").exptime());
        assertEquals("hi", fx.copy(1, "k").value("k"), "the copy asked on the way that missed too");
        assertEquals(1, fx.stats.getHits());
        assertEquals(0, fx.stats.getMisses());
    }

    @Test
    void aMissEverywhereIsTheMainsMissAndUnderQNothing() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        assertEquals("EN\r\n", fx.reply("mg k v"));
        assertEquals(1, fx.stats.getMisses());
        RouteFixture.Answer quiet = fx.call("mg k v q");
        assertEquals(1, quiet.calls());
        assertNull(quiet.text());
    }

    @Test
    void withoutRepairAMissIsTheClientsAnswer() {
        RouteFixture fx = RouteFixture.withoutRepair(1, 1);
        fx.backup("k").put("k", "hi");
        assertEquals("EN\r\n", fx.reply("mg k v"));
        assertEquals(List.of(), fx.backup("k").sent());
    }

    @Test
    void aVivifyingMissIsTheMainsAndNotRepaired() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "hi");
        assertEquals("VA 0 W\r\n\r\n", fx.reply("mg k N30 v"));
        assertEquals(List.of(), fx.backup("k").sent());
    }

    @Test
    void aVivifyingMgWithTheMainDownVivifiesOnTheBackup() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.server(0, "k").markDown("test");
        assertEquals("HD W\r\n", fx.reply("mg k N30"));
        assertEquals(List.of("mg k N30"), fx.backup("k").sent());
    }

    @Test
    void aTouchingHitTouchesEveryOtherCopy() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        for (int p = 0; p < 3; p++) {
            fx.copy(p, "k").put("k", "hi");
        }
        assertEquals("VA 2 t30\r\nhi\r\n", fx.reply("mg k v T30 t"));
        for (int p = 0; p < 3; p++) {
            assertEquals(30, fx.copy(p, "k").item("k").exptime(), "copy " + p);
        }
        assertEquals(List.of("mg k T30"), fx.copy(2, "k").sent());
    }

    @Test
    void aTouchACopyMissesIsHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "hi");
        fx.copy(2, "k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("HD\r\n", fx.reply("mg k T30"));
        assertTrue(fx.server(2, "k").hints().contains("k".getBytes()));
    }

    @Test
    void meIsAnsweredByTheFirstCopyThatCan() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.server(1, "k").markDown("test");
        fx.copy(2, "k").replyNext(new MetaReply("ME", List.of("k", "exp=-1", "la=1", "cas=2", "fetch=no",
                "cls=1", "size=63"), null));
        assertEquals("ME k exp=-1 la=1 cas=2 fetch=no cls=1 size=63\r\n", fx.reply("me k"));
        assertEquals(List.of("me k"), fx.copy(2, "k").sent());
        assertEquals(0, fx.stats.getHits() + fx.stats.getMisses(), "me is no read of the value");
    }

    @Test
    void aBase64KeyIsPlacedAndHintedByItsDecodedKey() {
        RouteFixture fx = RouteFixture.pools(2, 2);
        // "YWJj" is "abc"
        fx.main("abc").put("abc", "hi");
        assertEquals("VA 2 b kYWJj\r\nhi\r\n", fx.reply("mg YWJj b k v"));
        fx.server(0, "abc").hints().record("abc".getBytes());
        fx.backup("abc").put("abc", "new");
        assertEquals("VA 3 b\r\nnew\r\n", fx.reply("mg YWJj b v"));
    }
}
