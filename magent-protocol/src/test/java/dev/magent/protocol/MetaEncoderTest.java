package dev.magent.protocol;

import static dev.magent.protocol.Harness.bytes;
import static dev.magent.protocol.Harness.decode;
import static dev.magent.protocol.Harness.describe;
import static dev.magent.protocol.Harness.encode;
import static dev.magent.protocol.Harness.k;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Meta commands as a proxy forwards them, meta replies as it writes them back, and the model's rewrites. */
class MetaEncoderTest {
    private static String command(Object... commands) {
        return encode(new CommandEncoder(), commands);
    }

    private static String reply(Object... replies) {
        return encode(new ReplyEncoder(), replies);
    }

    @Test
    void metaCommandsAreForwardedAsWritten() {
        assertEquals("mg k v f t O1\r\n", command(MetaCommand.of(Verb.MG, k("k"), List.of("v", "f", "t", "O1"))));
        assertEquals("mg k\r\n", command(MetaCommand.of(Verb.MG, k("k"), List.of())));
        assertEquals("md k I T30\r\n", command(MetaCommand.of(Verb.MD, k("k"), List.of("I", "T30"))));
        assertEquals("ma k N0 J13 v\r\n", command(MetaCommand.of(Verb.MA, k("k"), List.of("N0", "J13", "v"))));
        assertEquals("me YWJj b\r\n", command(new MetaCommand(Verb.ME, k("YWJj"), k("abc"), List.of("b"), null)));
        assertEquals("mn\r\n", command(MetaCommand.NOOP));
        assertEquals("ms YWJj 2 b T0 MA\r\nhi\r\n",
                command(new MetaCommand(Verb.MS, k("YWJj"), k("abc"), List.of("b", "T0", "MA"), bytes("hi"))));
        assertEquals("ms k 0\r\n\r\n", command(new MetaCommand(Verb.MS, k("k"), k("k"), List.of(), bytes(""))));
        // a key memcached takes (any byte but space, CR, LF) goes as it is; flags byte for byte
        assertEquals("mg k\u0001\u00ff O\u00e9\r\n", command(MetaCommand.of(Verb.MG, k("k\u0001\u00ff"), List.of("O\u00e9"))));
        assertEquals("mg k\rx v\r\r\n", command(MetaCommand.of(Verb.MG, k("k\rx"), List.of("v\r"))));
        String large = "x".repeat(5000);
        assertEquals("ms k 5000\r\n" + large + "\r\n",
                command(new MetaCommand(Verb.MS, k("k"), k("k"), List.of(), bytes(large))));
    }

    @Test
    void metaRepliesAreWrittenByteForByte() {
        assertEquals("ME k exp=-1 la=0 cas=4 fetch=no cls=1 size=62\r\n",
                reply(new MetaReply("ME", List.of("k", "exp=-1", "la=0", "cas=4", "fetch=no", "cls=1", "size=62"), null)));
        assertEquals("VA 1 k\u00ff\u0001 O1\r\nx\r\n", reply(new MetaReply("VA", List.of("k\u00ff\u0001", "O1"), bytes("x"))));
        assertEquals("MN\r\n", reply(new MetaReply("MN", List.of(), null)));
    }

    @Test
    void encodedMetaCommandsDecodeBackToThemselves() {
        Object[] commands = {MetaCommand.of(Verb.MG, k("a"), List.of("v", "q", "k", "O9")),
                new MetaCommand(Verb.MS, k("YWJj"), k("abc"), List.of("b", "C5", "I"), bytes("v\r\nv")),
                MetaCommand.of(Verb.MD, k("d"), List.of("C1")), MetaCommand.of(Verb.MA, k("n"), List.of("MD", "D7")),
                MetaCommand.of(Verb.ME, k("e"), List.of()), MetaCommand.NOOP};
        List<String> expected = java.util.Arrays.stream(commands).map(Harness::describe).toList();
        String wire = command(commands);
        assertEquals(expected, decode(CommandDecoder::new, wire));
    }

    @Test
    void encodedMetaRepliesDecodeBackToThemselves() {
        Object[] replies = {new MetaReply("ME", List.of("k", "exp=-1", "la=0"), null),
                new MetaReply("VA", List.of("k\u00e9"), bytes("hi")), new MetaReply("HD", List.of("kYWJj", "b"), null),
                new MetaReply("MN", List.of(), null)};
        List<String> expected = java.util.Arrays.stream(replies).map(Harness::describe).toList();
        String wire = reply(replies);
        assertEquals(expected, decode(ReplyDecoder::new, wire));
    }

    @Test
    void unframeableMetaCommandsFailTheWrite() {
        ByteBuf value = Harness.unpooled("v");
        EmbeddedChannel ch = new EmbeddedChannel(new CommandEncoder());
        for (Object bad : List.of(new MetaCommand(Verb.MS, k("a b"), k("a b"), List.of(), value),
                MetaCommand.of(Verb.MG, k("a\r\nflush_all"), List.of()), MetaCommand.of(Verb.MG, k(""), List.of()),
                MetaCommand.of(Verb.MG, k("a"), List.of("v t")), MetaCommand.of(Verb.MD, k("a"), List.of("")),
                MetaCommand.of(Verb.MG, k("a\0"), List.of()), MetaCommand.of(Verb.MG, k("a"), List.of("v\0")))) {
            String what = describe(bad);
            assertThrows(EncoderException.class, () -> ch.writeOutbound(bad), what);
            assertNull(ch.readOutbound(), "nothing written for " + what);
        }
        assertEquals(0, value.refCnt(), "the rejected ms was released");
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void keysTheTextProtocolCannotCarryGoAsBase64MetaCommands() {
        // " AB" (a meta client's "IEFC b") and "\0\n": read, copied and deleted by a resync or a hint replay
        assertEquals("mg IEFC b v f t\r\n", command(new MetaGetCommand(k(" AB"), List.of("v", "f", "t"))));
        assertEquals("ms AAo= 2 b F5 T-1 ME\r\nhi\r\n",
                command(new StorageCommand(Verb.ADD, k("\0\n"), 5, -1, 0, bytes("hi"), false)));
        assertEquals("ms IEFC 1 b F4294967295 T100 MS C7 q\r\nx\r\n",
                command(new StorageCommand(Verb.CAS, k(" AB"), -1, 100, 7, bytes("x"), true)));
        assertEquals("ms IEFC 1 b F0 T0 MS\r\nx\r\n", command(StorageCommand.set(k(" AB"), 0, 0, bytes("x"))));
        assertEquals("ms IEFC 1 b F0 T0 MA\r\nx\r\n",
                command(new StorageCommand(Verb.APPEND, k(" AB"), 0, 0, 0, bytes("x"), false)));
        assertEquals("md IEFC b\r\n", command(new DeleteCommand(k(" AB"), false)));
        assertEquals("md IEFC b q\r\n", command(new DeleteCommand(k(" AB"), true)));
        // ordinary keys are unchanged
        assertEquals("delete k\r\n", command(new DeleteCommand(k("k"), false)));
    }

    @Test
    void rewritesKeepTheKeyAndShareTheValue() {
        ByteBuf value = Harness.unpooled("hi");
        MetaCommand ms = new MetaCommand(Verb.MS, k("YWJj"), k("abc"), List.of("b", "q", "C5", "I", "O1"), value);
        assertTrue(ms.quiet() && ms.base64() && ms.has('C'));
        assertEquals("5", ms.token('C'));
        assertNull(ms.token('k'));
        MetaCommand plain = ms.without("qCI");
        assertEquals(List.of("b", "O1"), plain.flags());
        assertEquals(value, plain.value());
        assertEquals(plain, plain.without("x"), "nothing to drop: the same command");
        assertEquals(List.of("b", "O1", "v"), plain.with("v").flags());
        MetaCommand read = ms.sameKey(Verb.MG, List.of("v", "f", "t"), null);
        assertEquals(List.of("b", "v", "f", "t"), read.flags());
        assertEquals("abc", Harness.s(read.routingKey()));
        ms.release();
        assertEquals(0, value.refCnt());
        assertThrows(IllegalArgumentException.class, () -> MetaCommand.of(Verb.GET, k("k"), List.of()));
        assertThrows(IllegalArgumentException.class, () -> MetaCommand.of(Verb.MS, k("k"), List.of()));
    }
}
