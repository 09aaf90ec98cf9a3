package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.FakeBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** docs/semantics.md, "Reads" with several keys: one request per server, fail-over per group, one END. */
class MultiGetTest {
    /** Keys a, b, c, d over two mains (modulo): which is where is looked up, not assumed. */
    private static final String KEYS = "get a b c d";

    private static RouteFixture twoMainsOneBackup() {
        RouteFixture fx = RouteFixture.pools(2, 1);
        for (String k : List.of("a", "b", "c", "d")) {
            fx.main(k).put(k, k + "1");
            fx.backup(k).put(k, k + "2");
        }
        return fx;
    }

    @Test
    void oneRequestPerMainAndTheHitsInTheClientsOrder() {
        RouteFixture fx = twoMainsOneBackup();
        assertEquals("VALUE a 0 2\r\na1\r\nVALUE b 0 2\r\nb1\r\nVALUE c 0 2\r\nc1\r\nVALUE d 0 2\r\nd1\r\nEND\r\n",
                fx.reply(KEYS));
        int requests = 0;
        for (int i = 0; i < 2; i++) {
            requests += fx.fakes[i].sent().size();
            assertTrue(fx.fakes[i].sent().size() <= 1, "one request per main: " + fx.fakes[i].sent());
        }
        assertEquals(expectedGroups(fx, List.of("a", "b", "c", "d")), requests);
        assertEquals(List.of(), fx.fakes[2].sent(), "the backup is not asked");
    }

    private static int expectedGroups(RouteFixture fx, List<String> keys) {
        return (int) keys.stream().map(k -> fx.server(0, k)).distinct().count();
    }

    @Test
    void duplicatesAreAnsweredEachTime() {
        RouteFixture fx = twoMainsOneBackup();
        assertEquals("VALUE a 0 2\r\na1\r\nVALUE a 0 2\r\na1\r\nEND\r\n", fx.reply("get a a"));
    }

    @Test
    void aFailingMainsKeysComeFromTheBackupInOneRequest() {
        RouteFixture fx = twoMainsOneBackup();
        fx.main("a").failing(BackendException.Reason.TIMEOUT);
        String reply = fx.reply(KEYS);
        List<String> fromBackup = new ArrayList<>();
        for (String k : List.of("a", "b", "c", "d")) {
            String want = fx.main(k) == fx.main("a") ? k + "2" : k + "1";
            if (fx.main(k) == fx.main("a")) {
                fromBackup.add(k);
            }
            assertTrue(reply.contains("VALUE " + k + " 0 2\r\n" + want + "\r\n"), k + " in " + reply);
        }
        assertEquals(List.of("get " + String.join(" ", fromBackup)), fx.backup("a").sent());
        assertEquals(1, fx.stats.failovers());
    }

    @Test
    void aKeyNoCopyCanAnswerFailsTheWholeRequest() {
        RouteFixture fx = twoMainsOneBackup();
        fx.main("a").failing(BackendException.Reason.CONNECTION);
        fx.backup("a").failing(BackendException.Reason.TIMEOUT);
        String reply = fx.reply(KEYS);
        assertTrue(reply.startsWith("SERVER_ERROR no server available for key "), reply);
        assertTrue(reply.contains("unreachable, backup 10.0.1.1:11211 timed out"), reply);
    }

    @Test
    void missesAreRepairedKeyByKey() {
        RouteFixture fx = RouteFixture.pools(2, 1);
        fx.main("a").put("a", "a1");
        fx.backup("b").put("b", "b2");
        assertEquals("VALUE a 0 2\r\na1\r\nVALUE b 0 2\r\nb2\r\nEND\r\n", fx.reply("get a b c"));
        assertEquals("b2", fx.main("b").value("b"));
        assertEquals(1, fx.stats.readRepairs());
        assertEquals(2, fx.stats.getHits());
        assertEquals(1, fx.stats.getMisses());
    }

    @Test
    void aKeyStaleOnItsMainIsReadFromTheBackup() {
        RouteFixture fx = twoMainsOneBackup();
        fx.server(0, "b").hints().record("b".getBytes());
        String reply = fx.reply(KEYS);
        assertTrue(reply.contains("VALUE b 0 2\r\nb2\r\n"), reply);
        assertTrue(reply.contains("VALUE a 0 2\r\na1\r\n"), reply);
    }

    @Test
    void gatTouchesTheBackups() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.main("a").put("a", "1").put("b", "2");
        fx.reply("gat 30 a b");
        assertEquals(List.of("gat 30 a b"), fx.backup("a").sent(), "one gat per backup server, as the get");
    }

    @Test
    void threeCopiesFailOverPoolByPool() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        fx.copy(2, "a").put("a", "a3").put("b", "b3");
        fx.main("a").failing(BackendException.Reason.TIMEOUT);
        fx.copy(1, "a").failing(BackendException.Reason.CONNECTION);
        assertEquals("VALUE a 0 2\r\na3\r\nVALUE b 0 2\r\nb3\r\nEND\r\n", fx.reply("get a b"));
        assertEquals(2, fx.stats.failovers());
    }

    @Test
    void threeCopiesAllFailingNamesEachPool() {
        RouteFixture fx = RouteFixture.pools(1, 1, 1);
        for (FakeBackend f : fx.fakes) {
            f.failing(BackendException.Reason.TIMEOUT);
        }
        assertEquals("SERVER_ERROR no server available for key a: main 10.0.0.1:11211 timed out, "
                + "backup 10.0.1.1:11211 timed out, backup 10.0.2.1:11211 timed out\r\n", fx.reply("get a b"));
    }

    @Test
    void noKeysFoundIsOneEnd() {
        RouteFixture fx = RouteFixture.pools(2, 1);
        assertEquals("END\r\n", fx.reply(KEYS));
        assertEquals(4, fx.stats.getMisses());
    }
}
