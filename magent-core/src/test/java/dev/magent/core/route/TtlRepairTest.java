package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.recovery.HintLog;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/semantics.md, "Reads" and "Read-repair" (issue 12, cases 4 and 5): every TTL change a client makes
 * reaches every copy, now or through the hint log; the repair path applies the command's own exptime.
 */
class TtlRepairTest {

    private static byte[] key(String k) {
        return k.getBytes(StandardCharsets.US_ASCII);
    }

    @ParameterizedTest(name = "{0} 100 k on the repair path refills the main with exptime 100")
    @ValueSource(strings = {"gat", "gats"})
    void aRepairedGatRefillsWithTheCommandsExptime(String verb) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b", 3, 7); // 7 seconds left on the backup
        String reply = fx.reply(verb + " 100 k");
        assertTrue(reply.startsWith("VALUE k 3 1"), reply);
        assertEquals(List.of(verb + " 100 k", "add k 3 100 b"), fx.main("k").sent());
        assertEquals(List.of("mg k v f t" + (verb.equals("gats") ? " c" : "") + " T100"), fx.backup("k").sent(),
                "the copy read is touched too");
        assertEquals(100, fx.main("k").item("k").exptime());
        assertEquals(100, fx.backup("k").item("k").exptime());
    }

    @ParameterizedTest(name = "multi-key {0} on the repair path refills with the command's exptime")
    @ValueSource(strings = {"gat", "gats"})
    void aRepairedMultiKeyGatRefillsWithTheCommandsExptime(String verb) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("a").put("a", "1", 0, 7);
        fx.backup("b").put("b", "2", 0, 7);
        fx.reply(verb + " 100 a b");
        assertEquals(100, fx.main("a").item("a").exptime());
        assertEquals(100, fx.main("b").item("b").exptime());
        assertEquals(100, fx.backup("a").item("a").exptime());
    }

    @ParameterizedTest(name = "{0} answered by the backup while the main is down is hinted for the main")
    @ValueSource(strings = {"gat 100 k", "gats 100 k", "gat 100 k other", "gats 100 k other", "touch k 100"})
    void aTtlChangeTheMainMissesIsHinted(String command) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b", 0, 7);
        fx.backup("other").put("other", "o", 0, 7);
        fx.server(0, "k").markDown("test");
        String reply = fx.reply(command);
        assertTrue(reply.contains("k 0 1") || reply.equals("TOUCHED\r\n"), reply);
        assertEquals(100, fx.backup("k").item("k").exptime());
        assertTrue(fx.server(0, "k").hints().contains(key("k")), "the main's TTL of k is stale: " + command);
        if (command.contains("other")) {
            assertTrue(fx.server(0, "other").hints().contains(key("other")));
        }
    }

    @ParameterizedTest(name = "{0} answered by the backup for a main stale for the key keeps it hinted")
    @ValueSource(strings = {"gat 100 k", "gats 100 k k2"})
    void aTtlChangeForAKeyHintedOnTheMainKeepsItHinted(String command) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.backup("k").put("k", "b", 0, 7);
        HintLog hints = fx.server(0, "k").hints();
        hints.record(key("k"));
        fx.reply(command);
        assertTrue(hints.contains(key("k")), "still stale: rewritten from the backup, with its new TTL, later");
        assertTrue(fx.main("k").sent().stream().noneMatch(c -> List.of(c.split(" ")).contains("k")),
                "k not sent to its stale copy: " + fx.main("k").sent());
    }
}
