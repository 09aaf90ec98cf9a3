package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.magent.core.backend.BackendException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** docs/semantics.md, "incr / decr": both copies apply the delta; drift is corrected. */
class ArithmeticRouteTest {

    @ParameterizedTest(name = "{0} on main 10 / backup 10 answers {1}")
    @CsvSource(delimiter = '|', value = {"incr k 5 | 15", "decr k 3 | 7", "decr k 30 | 0"})
    void bothApplyTheDeltaAndTheClientGetsTheMains(String command, String result) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10");
        fx.backup("k").put("k", "10");
        assertEquals(result + "\r\n", fx.reply(command));
        assertEquals(result, fx.backup("k").value("k"));
        assertEquals(1, fx.backup("k").sent().size(), "no correction needed");
    }

    @Test
    void aDriftedBackupIsSetToTheMainsValue() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10");
        fx.backup("k").put("k", "3");
        assertEquals("11\r\n", fx.reply("incr k 1"));
        assertEquals(List.of("incr k 1", "set k 0 0 11"), fx.backup("k").sent());
    }

    @Test
    void aBackupLackingTheCounterIsSet() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "10");
        assertEquals("11\r\n", fx.reply("incr k 1"));
        assertEquals("11", fx.backup("k").value("k"));
    }

    @Test
    void aMainThatLostTheCounterGetsItBackFromTheBackup() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "10", 4, 100);
        assertEquals("11\r\n", fx.reply("incr k 1"));
        assertEquals(List.of("incr k 1", "add k 4 100 11"), fx.main("k").sent(), "refilled as a read miss");
    }

    @Test
    void withoutRepairAMainMissIsNotFound() {
        RouteFixture fx = RouteFixture.withoutRepair(1, 1);
        fx.backup("k").put("k", "10");
        assertEquals("NOT_FOUND\r\n", fx.reply("incr k 1"));
    }

    @Test
    void aMissEverywhereIsNotFound() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        assertEquals("NOT_FOUND\r\n", fx.reply("incr k 1"));
    }

    @Test
    void aMainDownGivesTheBackupsResult() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "10");
        fx.server(0, "k").markDown("test");
        assertEquals("11\r\n", fx.reply("incr k 1"));
        assertEquals(1, fx.stats.failovers());
    }

    @Test
    void bothFailingNamesBoth() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(BackendException.Reason.CONNECTION);
        fx.backup("k").failing(BackendException.Reason.CONNECTION);
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 unreachable, "
                + "backup 10.0.1.1:11211 unreachable\r\n", fx.reply("incr k 1"));
    }

    @Test
    void aNonNumericValueIsMemcachedsClientError() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "abc");
        fx.backup("k").put("k", "abc");
        assertEquals("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", fx.reply("incr k 1"));
    }

    @Test
    void threeCopiesEveryDriftedCopyIsCorrected() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").put("k", "10");
        fx.copy(1, "k").put("k", "10");
        fx.copy(2, "k").put("k", "1");
        assertEquals("11\r\n", fx.reply("incr k 1"));
        assertEquals("11", fx.copy(2, "k").value("k"));
    }
}
