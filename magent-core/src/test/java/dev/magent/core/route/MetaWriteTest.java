package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "The meta protocol": ms and md are replicated writes to every copy, a write with a
 * cas goes where mg goes and the other copies get it without the cas, ma is applied on every copy and the
 * copies reconciled; three copies (a main and two backup pools) unless said.
 */
class MetaWriteTest {

    @Test
    void msWritesEveryCopyWithTheClientsFlags() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        assertEquals("HD O5\r\n", fx.reply("ms k 2 T60 F3 O5\nhi"));
        for (int p = 0; p < 3; p++) {
            assertEquals(new dev.magent.core.backend.FakeBackend.Item("hi", 3, 60, fx.copy(p, "k").item("k").cas()),
                    fx.copy(p, "k").item("k"), "copy " + p);
            assertEquals(List.of("ms k 2 T60 F3 O5 hi"), fx.copy(p, "k").sent());
        }
    }

    @Test
    void qIsNeverSentAndDropsHd() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        RouteFixture.Answer a = fx.call("ms k 2 q\nhi");
        assertNull(a.text());
        assertEquals(List.of("ms k 2 hi"), fx.backup("k").sent());
        assertEquals("NS\r\n", fx.reply("ms k 2 ME q\nhi"), "a failed add is answered under q");
    }

    @Test
    void aMainAndFirstBackupFailingAnswerFromTheThirdAndAreHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.copy(1, "k").failing(BackendException.Reason.CONNECTION);
        assertEquals("HD\r\n", fx.reply("ms k 2\nhi"));
        assertEquals("hi", fx.copy(2, "k").value("k"));
        assertEquals(1, fx.stats.failovers());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()));
    }

    @Test
    void aFailedLaterCopyIsHintedAndCountedNotReported() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(2, "k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("HD\r\n", fx.reply("ms k 2\nhi"));
        assertTrue(fx.server(2, "k").hints().contains("k".getBytes()));
        assertEquals(1, fx.stats.backupWriteErrors());
    }

    @Test
    void everyCopyFailingIsAnErrorAndOnlyTheMainIsHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.backup("k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 timed out, "
                + "backup 10.0.1.1:11211 timed out\r\n", fx.reply("md k"));
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
        assertFalse(fx.server(1, "k").hints().contains("k".getBytes()));
    }

    @Test
    void mdDeletesEveryCopyAndIsAnsweredByTheMain() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        for (int p = 1; p < 3; p++) {
            fx.copy(p, "k").put("k", "v");
        }
        assertEquals("NF\r\n", fx.reply("md k"), "the main's reply");
        assertNull(fx.copy(1, "k").value("k"));
        assertNull(fx.copy(2, "k").value("k"));
    }

    @Test
    void aCasWriteGoesToTheMainThenEveryOtherCopyWithoutItsCas() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "v");
        long cas = fx.main("k").item("k").cas();
        assertEquals("HD\r\n", fx.reply("ms k 1 C" + cas + " I T9\nw"));
        assertEquals(List.of("ms k 1 T9 w"), fx.copy(1, "k").sent());
        assertEquals(List.of("ms k 1 T9 w"), fx.copy(2, "k").sent());
        assertEquals("w", fx.copy(2, "k").value("k"));
    }

    @Test
    void aCasThatDoesNotMatchChangesNoOtherCopy() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "v");
        assertEquals("EX\r\n", fx.reply("ms k 1 C999999\nw"));
        assertEquals("EX\r\n", fx.reply("md k C999999"));
        assertEquals(List.of(), fx.copy(1, "k").sent());
        assertEquals(List.of(), fx.copy(2, "k").sent());
    }

    @Test
    void withTheMainAndFirstBackupDownACasGoesToTheThirdCopyAndTheOthersAreHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(2, "k").put("k", "v");
        long cas = fx.copy(2, "k").item("k").cas();
        fx.server(0, "k").markDown("test");
        fx.server(1, "k").markDown("test");
        assertEquals("HD\r\n", fx.reply("md k C" + cas));
        assertNull(fx.copy(2, "k").value("k"));
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()));
    }

    @Test
    void aCasWhoseMainTimesOutIsNotRetriedAndTheMainIsHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 timed out\r\n",
                fx.reply("ms k 1 C5\nw"));
        assertEquals(List.of(), fx.backup("k").sent());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
    }

    @Test
    void maAppliesOnEveryCopyAndSetsTheCopiesThatDiffer() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("c").put("c", "10");
        fx.copy(1, "c").put("c", "3");
        assertEquals("HD\r\n", fx.reply("ma c"));
        assertEquals(List.of("ma c v"), fx.main("c").sent().subList(0, 1), "v asked by magent");
        assertEquals("11", fx.main("c").value("c"));
        assertEquals("11", fx.copy(1, "c").value("c"));
        assertEquals("11", fx.copy(2, "c").value("c"), "the copy that lacked it");
        assertEquals(List.of("ma c v", "ms c 2 11"), fx.copy(2, "c").sent());
    }

    @Test
    void maAnswersTheValueWhenAskedAndNothingUnderQ() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("c").put("c", "1");
        fx.backup("c").put("c", "1");
        assertEquals("VA 1 O2\r\n2\r\n", fx.reply("ma c v O2"));
        assertNull(fx.call("ma c q").text());
        assertEquals("3", fx.backup("c").value("c"));
        assertEquals("NF\r\n", fx.reply("ma nokey q"));
    }

    @Test
    void aMainThatLostTheCounterGetsItBackAndTheClientTheCopysResult() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(1, "c").put("c", "5", 0, 100);
        fx.copy(2, "c").put("c", "5", 0, 100);
        assertEquals("VA 1\r\n6\r\n", fx.reply("ma c v"));
        assertEquals("6", fx.main("c").value("c"));
        assertEquals(100, fx.main("c").item("c").exptime(), "with the copy's TTL");
    }

    @Test
    void maWithTheMainAndFirstBackupFailingIsTheThirdCopysAndTheyAreHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("c").failing(BackendException.Reason.TIMEOUT);
        fx.copy(1, "c").failing(BackendException.Reason.TIMEOUT);
        fx.copy(2, "c").put("c", "7");
        assertEquals("VA 1\r\n8\r\n", fx.reply("ma c v"));
        assertEquals(1, fx.stats.failovers());
        assertTrue(fx.server(0, "c").hints().contains("c".getBytes()));
        assertTrue(fx.server(1, "c").hints().contains("c".getBytes()));
    }

    @Test
    void maWithACasGoesToTheMainThenTheOthersWithoutItAndTheyAreReconciled() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("c").put("c", "10");
        fx.copy(1, "c").put("c", "10");
        long cas = fx.main("c").item("c").cas();
        assertEquals("HD\r\n", fx.reply("ma c C" + cas));
        assertEquals(List.of("ma c v"), fx.copy(1, "c").sent());
        assertEquals("11", fx.copy(1, "c").value("c"));
        assertEquals("11", fx.copy(2, "c").value("c"), "NF there: set to the main's value");
    }

    @Test
    void aWriteReleasesItsValueOnEveryPath() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(1, "k").failing(BackendException.Reason.TIMEOUT);
        dev.magent.protocol.MetaCommand ms = (dev.magent.protocol.MetaCommand) RouteFixture.parse("ms k 2\nhi");
        fx.router.route(ms, (r, f) -> io.netty.util.ReferenceCountUtil.release(r));
        assertEquals(0, ms.value().refCnt());
        fx.main("k").put("k", "v");
        dev.magent.protocol.MetaCommand cas = (dev.magent.protocol.MetaCommand) RouteFixture.parse(
                "ms k 2 C" + fx.main("k").item("k").cas() + "\nhi");
        fx.router.route(cas, (r, f) -> io.netty.util.ReferenceCountUtil.release(r));
        assertEquals(0, cas.value().refCnt());
    }
}
