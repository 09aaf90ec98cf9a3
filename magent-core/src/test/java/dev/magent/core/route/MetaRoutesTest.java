package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.magent.core.backend.Completion;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Verb;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the client of a meta command sees of the backend's reply: q drops what memcached 1.6.18 drops
 * (checked by hand: "md nokey q" answers NF, "ms k 1 ME q" on an existing key answers NS, "ma c v q" and
 * "ma c q" answer nothing), and an ma whose value only magent asked for answers HD.
 */
class MetaRoutesTest {
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(textBlock = """
            MG, EN, true
            MG, HD, false
            MG, VA, false
            MS, HD, true
            MS, NS, false
            MS, EX, false
            MS, NF, false
            MD, HD, true
            MD, NF, false
            MD, EX, false
            MA, HD, true
            MA, VA, true
            MA, NF, false
            MA, NS, false
            MA, EX, false
            ME, EN, false
            """)
    void quietDropsWhatMemcachedDrops(Verb verb, String code, boolean dropped) {
        assertEquals(dropped, MetaRoutes.suppressed(verb, new MetaReply(code, List.of(), null)));
    }

    @Test
    void errorsAreNeverDropped() {
        for (Verb v : List.of(Verb.MG, Verb.MS, Verb.MD, Verb.MA)) {
            assertEquals(false, MetaRoutes.suppressed(v, ErrorReply.server("x")));
        }
    }

    @Test
    void anMaWithoutVGetsHdWithItsFlagsAndTheValueReleased() {
        List<Reply> seen = new ArrayList<>();
        Completion sink = (r, f) -> seen.add(r);
        MetaCommand ma = MetaCommand.of(Verb.MA, key("n"), List.of("O1", "t"));
        var data = Unpooled.copiedBuffer("42", StandardCharsets.US_ASCII);
        MetaRoutes.answer(ma, sink).accept(new MetaReply("VA", List.of("O1", "t-1"), data), null);
        assertEquals(List.of(new MetaReply("HD", List.of("O1", "t-1"), null)), seen);
        assertEquals(0, data.refCnt());
        // quiet as well: nothing at all
        seen.clear();
        MetaCommand quiet = MetaCommand.of(Verb.MA, key("n"), List.of("q"));
        MetaRoutes.answer(quiet, sink).accept(new MetaReply("VA", List.of(), Unpooled.copiedBuffer("1", StandardCharsets.US_ASCII)), null);
        assertEquals(1, seen.size());
        assertNull(seen.get(0));
    }

    @Test
    void aPlainCommandAnswersThroughTheSinkItself() {
        Completion sink = (r, f) -> { };
        assertSame(sink, MetaRoutes.answer(MetaCommand.of(Verb.MG, key("k"), List.of("v")), sink));
        assertSame(sink, MetaRoutes.answer(MetaCommand.of(Verb.MA, key("k"), List.of("v")), sink));
    }

    private static byte[] key(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
