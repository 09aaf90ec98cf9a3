package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.FakeBackend;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.StatusReply;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** docs/semantics.md, "Writes": set, add, replace, append, prepend, delete, touch on every copy. */
class ReplicatedWriteTest {

    @ParameterizedTest(name = "{0} reaches the main and the backup; the client gets the main''s {2}")
    @CsvSource(delimiter = '|', value = {
        "set k 0 0 1\\nv         | set k 0 0 v     | STORED",
        "add k 0 0 1\\nv         | add k 0 0 v     | NOT_STORED",
        "replace k 0 0 1\\nv     | replace k 0 0 v | STORED",
        "append k 0 0 1\\nv      | append k 0 0 v  | STORED",
        "prepend k 0 0 1\\nv     | prepend k 0 0 v | STORED",
        "delete k               | delete k        | DELETED",
        "touch k 10             | touch k 10      | TOUCHED",
    })
    void everyWriteGoesToEveryCopy(String command, String sent, String reply) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").put("k", "old");
        fx.backup("k").put("k", "old");
        assertEquals(reply + "\r\n", fx.reply(command));
        assertEquals(List.of(sent), fx.main("k").sent());
        assertEquals(List.of(sent), fx.backup("k").sent());
    }

    @Test
    void theClientGetsTheMainsReplyEvenWhenTheBackupDiffers() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "there");
        assertEquals("STORED\r\n", fx.reply("add k 0 0 1\nv")); // the backup's NOT_STORED is not the answer
        assertEquals(0, fx.stats.backupWriteErrors(), "NOT_STORED is an answer, not an error");
    }

    @Test
    void theMainsReplyWaitsForTheMainEvenIfTheBackupIsFaster() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").hold();
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        assertFalse(a.answered(), "the backup's reply alone does not answer");
        fx.main("k").release();
        assertEquals("STORED\r\n", a.text());
        assertEquals(0, fx.stats.failovers());
    }

    @Test
    void aMainThatIsDownFailsOverToTheBackupWithoutSending() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.server(0, "k").markDown("test");
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals(List.of(), fx.main("k").sent());
        assertEquals(1, fx.stats.failovers());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()), "the missed write is hinted");
    }

    @ParameterizedTest(name = "a main failing with {0} fails over to the backup and is hinted")
    @CsvSource({"TIMEOUT", "CONNECTION", "PROTOCOL", "LOCAL"})
    void aFailingMainFailsOver(BackendException.Reason reason) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").failing(reason);
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals("v", fx.backup("k").value("k"));
        assertEquals(1, fx.stats.failovers());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
    }

    @Test
    void aFailedBackupWriteIsCountedAndHintedNotReported() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals(1, fx.stats.backupWriteErrors());
        assertEquals(1, fx.stats.backendTimeouts());
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()));
    }

    @Test
    void aBackupsServerErrorIsCountedNotReported() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").replyNext(ErrorReply.server("out of memory storing object"));
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals(1, fx.stats.backupWriteErrors());
    }

    @Test
    void aBackupFailingAfterTheAnswerIsStillCounted() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").hold();
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        assertEquals("STORED\r\n", a.text(), "the main's reply does not wait for the backup");
        fx.backup("k").failing(BackendException.Reason.CONNECTION);
        fx.backup("k").healthy().release();
        assertEquals(1, a.calls());
    }

    @Test
    void bothFailingNamesEachServer() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.server(0, "k").markDown("test");
        fx.backup("k").failing(BackendException.Reason.TIMEOUT);
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 is down, "
                + "backup 10.0.1.1:11211 timed out\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals(1, fx.stats.unavailableErrors());
    }

    @Test
    void withoutBackupsAFailingMainIsTheError() {
        RouteFixture fx = RouteFixture.pools(1);
        fx.main("k").failing(BackendException.Reason.CONNECTION);
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 unreachable\r\n",
                fx.reply("delete k"));
    }

    @ParameterizedTest(name = "{0}: the client asked for no reply, the servers are asked for one")
    @CsvSource(delimiter = '|', value = {
        "set k 0 0 1 noreply\\nv | set k 0 0 v",
        "delete k noreply       | delete k",
        "touch k 5 noreply      | touch k 5",
    })
    void noreplyIsNotForwarded(String command, String sent) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.reply(command);
        assertEquals(List.of(sent), fx.main("k").sent());
        assertEquals(List.of(sent), fx.backup("k").sent());
    }

    @Test
    void aKeyStaleOnTheMainIsWrittenToTheBackupOnlyAndStaysHinted() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.server(0, "k").hints().record("k".getBytes());
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        assertEquals(List.of(), fx.main("k").sent());
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
    }

    @Test
    void threeCopiesEveryOneGetsTheWrite() {
        RouteFixture fx = RouteFixture.pools(2, 1, 1);
        assertEquals("STORED\r\n", fx.reply("set k 0 0 1\nv"));
        for (int pool = 0; pool < 3; pool++) {
            assertEquals("v", fx.copy(pool, "k").value("k"), "copy " + pool);
        }
    }

    @Test
    void threeCopiesTheFirstSurvivorAnswers() {
        RouteFixture fx = RouteFixture.pools(2, 1, 1);
        fx.server(0, "k").markDown("test");
        fx.copy(1, "k").failing(BackendException.Reason.TIMEOUT);
        fx.copy(2, "k").put("k", "x");
        assertEquals("NOT_STORED\r\n", fx.reply("add k 0 0 1\nv"), "the third copy's answer");
        assertTrue(fx.server(0, "k").hints().contains("k".getBytes()));
        assertTrue(fx.server(1, "k").hints().contains("k".getBytes()));
        assertEquals(1, fx.stats.failovers());
    }

    @Test
    void threeCopiesTheSecondAnswersBeforeTheThirdIsDone() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.main("k").failing(BackendException.Reason.TIMEOUT);
        fx.copy(2, "k").hold();
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        assertEquals("STORED\r\n", a.text());
        fx.copy(2, "k").release();
        assertEquals(1, a.calls());
        assertNull(fx.copy(2, "k").value("nothing"));
    }

    @Test
    void threeCopiesAllFailingNamesAllThree() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        for (FakeBackend f : fx.fakes) {
            f.failing(BackendException.Reason.CONNECTION);
        }
        assertEquals("SERVER_ERROR no server available for key k: main 10.0.0.1:11211 unreachable, "
                + "backup 10.0.1.1:11211 unreachable, backup 10.0.2.1:11211 unreachable\r\n", fx.reply("delete k"));
    }

    @Test
    void theMainAnsweringAfterABackupFailedStillAnswers() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("k").hold();
        fx.backup("k").failing(BackendException.Reason.TIMEOUT);
        RouteFixture.Answer a = fx.call("set k 0 0 1\nv");
        assertFalse(a.answered());
        fx.main("k").release();
        assertEquals("STORED\r\n", a.text());
        assertEquals(1, fx.stats.backupWriteErrors());
        assertEquals(StatusReply.STORED.name(), a.text().trim());
    }
}
