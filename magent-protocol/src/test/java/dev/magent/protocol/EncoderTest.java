package dev.magent.protocol;

import static dev.magent.protocol.Harness.bytes;
import static dev.magent.protocol.Harness.decode;
import static dev.magent.protocol.Harness.describe;
import static dev.magent.protocol.Harness.encode;
import static dev.magent.protocol.Harness.k;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every command and reply as exact bytes, and encoded messages decoding back to themselves. */
class EncoderTest {
    private static String command(Object... commands) {
        return encode(new CommandEncoder(), commands);
    }

    private static String reply(Object... replies) {
        return encode(new ReplyEncoder(), replies);
    }

    @Test
    void commands() {
        assertEquals("get a b\r\n", command(RetrievalCommand.get(k("a"), k("b"))));
        assertEquals("gets a\r\n", command(RetrievalCommand.gets(k("a"))));
        assertEquals("gat 100 a b\r\n", command(new RetrievalCommand(Verb.GAT, List.of(k("a"), k("b")), 100)));
        assertEquals("gats -1 a\r\n", command(new RetrievalCommand(Verb.GATS, List.of(k("a")), -1)));
        assertEquals("set k 4294967295 -1 3\r\nabc\r\n",
                command(new StorageCommand(Verb.SET, k("k"), -1, -1, 0, bytes("abc"), false)));
        assertEquals("set k 0 0 5\r\na\r\nb\r\r\n", command(StorageCommand.set(k("k"), 0, 0, bytes("a\r\nb\r"))));
        assertEquals("add k 0 0 0 noreply\r\n\r\n", command(new StorageCommand(Verb.ADD, k("k"), 0, 0, 0, bytes(""), true)));
        assertEquals("replace k 1 2 1\r\nx\r\n", command(new StorageCommand(Verb.REPLACE, k("k"), 1, 2, 0, bytes("x"), false)));
        assertEquals("append k 1 2 1\r\nx\r\n", command(new StorageCommand(Verb.APPEND, k("k"), 1, 2, 0, bytes("x"), false)));
        assertEquals("prepend k 1 2 1\r\nx\r\n", command(new StorageCommand(Verb.PREPEND, k("k"), 1, 2, 0, bytes("x"), false)));
        assertEquals("cas k 0 0 2 18446744073709551615\r\nab\r\n",
                command(new StorageCommand(Verb.CAS, k("k"), 0, 0, -1L, bytes("ab"), false)));
        assertEquals("cas k 7 2147483647 1 1 noreply\r\nx\r\n",
                command(new StorageCommand(Verb.CAS, k("k"), 7, Integer.MAX_VALUE, 1, bytes("x"), true)));
        assertEquals("incr k 18446744073709551615\r\n", command(new ArithmeticCommand(Verb.INCR, k("k"), -1L, false)));
        assertEquals("decr k 5 noreply\r\n", command(new ArithmeticCommand(Verb.DECR, k("k"), 5, true)));
        assertEquals("delete k\r\n", command(new DeleteCommand(k("k"), false)));
        assertEquals("delete k noreply\r\n", command(new DeleteCommand(k("k"), true)));
        assertEquals("touch k 10\r\n", command(new TouchCommand(k("k"), 10, false)));
        assertEquals("touch k -1 noreply\r\n", command(new TouchCommand(k("k"), -1, true)));
        assertEquals("flush_all\r\n", command(new FlushAllCommand(FlushAllCommand.NO_DELAY, false)));
        assertEquals("flush_all noreply\r\n", command(new FlushAllCommand(FlushAllCommand.NO_DELAY, true)));
        assertEquals("flush_all 0\r\n", command(new FlushAllCommand(0, false)));
        assertEquals("flush_all 5 noreply\r\n", command(new FlushAllCommand(5, true)));
        assertEquals("version\r\n", command(VersionCommand.INSTANCE));
        assertEquals("quit\r\n", command(QuitCommand.INSTANCE));
        assertEquals("stats\r\n", command(StatsCommand.GENERAL));
        assertEquals("stats detail dump\r\n", command(new StatsCommand("detail dump")));
        assertEquals("verbosity 1\r\n", command(new VerbosityCommand(1, false)));
        assertEquals("verbosity 0 noreply\r\n", command(new VerbosityCommand(0, true)));
        assertEquals("slabs automove 1\r\n", command(new ServerCommand(Verb.SLABS, List.of("automove", "1"), false)));
        assertEquals("cache_memlimit 100 noreply\r\n",
                command(new ServerCommand(Verb.CACHE_MEMLIMIT, List.of("100", "noreply"), true)));
        assertEquals("cache_memlimit 100\r\n",
                command(new ServerCommand(Verb.CACHE_MEMLIMIT, List.of("100", "noreply"), true).withReply()));
        assertEquals("watch\r\n", command(new ServerCommand(Verb.WATCH, List.of(), false)));
        // key bytes memcached takes: control characters, DEL and bytes above 0x7F
        assertEquals("get \u0001\u001f\u007f\u00ff\r\n", command(RetrievalCommand.get(k("\u0001\u001f\u007f\u00ff"))));
        assertEquals("mg k v f t\r\n", command(new MetaGetCommand(k("k"), List.of("v", "f", "t"))));
        assertEquals("mg k\r\n", command(new MetaGetCommand(k("k"), List.of())));
    }

    @Test
    void replies() {
        for (StatusReply s : StatusReply.values()) {
            assertEquals(s.name() + "\r\n", reply(s));
        }
        assertEquals("END\r\n", reply(ValuesReply.EMPTY));
        assertEquals("VALUE a 0 1\r\nx\r\nVALUE b 4294967295 3 18446744073709551614\r\nyyy\r\nEND\r\n",
                reply(new ValuesReply(List.of(new Value(k("a"), 0, bytes("x"), Value.NO_CAS),
                        new Value(k("b"), -1, bytes("yyy"), -2L)))));
        assertEquals("VALUE a 0 1 0\r\nx\r\nEND\r\n", reply(new ValuesReply(List.of(new Value(k("a"), 0, bytes("x"), 0)))));
        assertEquals("VALUE a 0 0\r\n\r\nVALUE b 0 2\r\n\r\n\r\nEND\r\n",
                reply(new ValuesReply(List.of(new Value(k("a"), 0, bytes(""), Value.NO_CAS),
                        new Value(k("b"), 0, bytes("\r\n"), Value.NO_CAS)))));
        assertEquals("18446744073709551615\r\n", reply(new NumberReply(-1L)));
        assertEquals("9223372036854775808\r\n", reply(new NumberReply(Long.MIN_VALUE)));
        assertEquals("0\r\n", reply(new NumberReply(0)));
        assertEquals("1000000000000000000\r\n", reply(new NumberReply(1_000_000_000_000_000_000L)));
        assertEquals("VERSION 1.6.18\r\n", reply(new VersionReply("1.6.18")));
        assertEquals("STAT pid 1\r\nSTAT version 1 2\r\nEND\r\n",
                reply(new StatsReply(List.of(new Stat("pid", "1"), new Stat("version", "1 2")))));
        assertEquals("END\r\n", reply(new StatsReply(List.of())));
        assertEquals("ERROR\r\n", reply(ErrorReply.UNKNOWN_COMMAND));
        assertEquals("CLIENT_ERROR bad command line format\r\n", reply(ErrorReply.BAD_COMMAND_LINE));
        assertEquals("CLIENT_ERROR bad data chunk\r\n", reply(ErrorReply.BAD_DATA_CHUNK));
        assertEquals("SERVER_ERROR object too large for cache\r\n", reply(ErrorReply.OBJECT_TOO_LARGE));
        assertEquals("SERVER_ERROR out of memory\r\n", reply(ErrorReply.server("out of memory")));
        assertEquals("VA 2 t100 f5\r\nhi\r\n", reply(new MetaReply("VA", List.of("t100", "f5"), bytes("hi"))));
        assertEquals("VA 0\r\n\r\n", reply(new MetaReply("VA", List.of(), bytes(""))));
        assertEquals("EN\r\n", reply(new MetaReply("EN", List.of(), null)));
        assertEquals("HD c5\r\n", reply(new MetaReply("HD", List.of("c5"), null)));
        for (String code : List.of("NF", "NS", "EX", "MN")) {
            assertEquals(code + "\r\n", reply(new MetaReply(code, List.of(), null)));
        }
        assertEquals("RESET\r\n", reply(TextReply.RESET));
        assertEquals("ERROR: shutdown not enabled\r\n", reply(TextReply.line("ERROR: shutdown not enabled")));
        assertEquals("PREFIX a get 1 hit 0 set 0 del 0\r\nEND\r\n",
                reply(new TextReply("PREFIX a get 1 hit 0 set 0 del 0\r\nEND\r\n")));
    }

    @Test
    void largeValueDataIsForwardedNotCopiedAndEachWriteReadsItsOwnDuplicate() {
        String big = "v".repeat(Wire.INLINE_DATA_MAX + 1);
        ByteBuf value = Harness.unpooled(big);
        StorageCommand set = StorageCommand.set(k("k"), 0, 0, value);
        EmbeddedChannel first = new EmbeddedChannel(new CommandEncoder());
        EmbeddedChannel second = new EmbeddedChannel(new CommandEncoder());
        set.retain(); // two writes, and each encoder releases what it consumed
        first.writeOutbound(set);
        second.writeOutbound(set);
        for (EmbeddedChannel ch : List.of(first, second)) {
            List<ByteBuf> parts = new ArrayList<>();
            ByteBuf b;
            while ((b = ch.readOutbound()) != null) {
                parts.add(b);
            }
            assertEquals(3, parts.size(), "line, data, CRLF");
            assertEquals("set k 0 0 1025\r\n", Harness.text(parts.get(0)));
            assertEquals("\r\n", Harness.text(parts.get(2)));
            ByteBuf data = parts.get(1);
            assertSame(root(value), root(data), "the value's own memory");
            // a channel consuming its buffer moves only its own reader index
            data.skipBytes(data.readableBytes());
            assertEquals(big.length(), value.readableBytes());
            parts.forEach(ByteBuf::release);
            assertFalse(ch.finishAndReleaseAll());
        }
        assertEquals(0, value.refCnt());
    }

    @Test
    void smallDataIsCopiedSoThatAMessageIsOneBuffer() {
        String small = "s".repeat(Wire.INLINE_DATA_MAX);
        ByteBuf value = Harness.unpooled(small);
        StorageCommand set = StorageCommand.set(k("k"), 3, 0, value);
        set.retain();
        EmbeddedChannel ch = new EmbeddedChannel(new CommandEncoder(), new ReplyEncoder());
        ch.writeOutbound(set);
        ByteBuf line = ch.readOutbound();
        assertEquals("set k 3 0 1024\r\n" + small + "\r\n", Harness.text(line));
        assertNull(ch.readOutbound(), "one buffer");
        assertEquals(small.length(), value.readableBytes(), "the value is not consumed: it may go to a backup too");
        line.release();
        set.release();

        ByteBuf big = Harness.unpooled("b".repeat(2000));
        ch.writeOutbound(new ValuesReply(List.of(new Value(k("a"), 0, Harness.unpooled("1"), Value.NO_CAS),
                new Value(k("b"), 0, big, Value.NO_CAS), new Value(k("c"), 0, Harness.unpooled("3"), Value.NO_CAS))));
        List<String> parts = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            parts.add(Harness.text(b));
            b.release();
        }
        assertEquals(List.of("VALUE a 0 1\r\n1\r\nVALUE b 0 2000\r\n", "b".repeat(2000),
                "\r\nVALUE c 0 1\r\n3\r\nEND\r\n"), parts, "small values inline, the large one forwarded");
        assertEquals(0, big.refCnt());
        assertFalse(ch.finishAndReleaseAll());
    }

    private static ByteBuf root(ByteBuf b) {
        while (b.unwrap() != null) {
            b = b.unwrap();
        }
        return b;
    }

    @Test
    void badMessagesFailTheWriteAndAreReleased() {
        ByteBuf value = Harness.unpooled("v");
        EmbeddedChannel ch = new EmbeddedChannel(new CommandEncoder());
        for (Object bad : List.of(StorageCommand.set(k(""), 0, 0, value), RetrievalCommand.get(k("a\r\nflush_all")),
                new ArithmeticCommand(Verb.INCR, k("a b"), 1, false), new TouchCommand(k("a\nb"), 1, false),
                new DeleteCommand(k(""), false), new StatsCommand("x\r\nflush_all"), RetrievalCommand.get(k("a\u0000b")),
                new MetaGetCommand(k("a"), List.of("v t")), new AdminCommand(List.of("reload")))) {
            String what = describe(bad);
            assertThrows(EncoderException.class, () -> ch.writeOutbound(bad), what);
            assertNull(ch.readOutbound(), "nothing written for " + what);
        }
        assertEquals(0, value.refCnt(), "the rejected set was released");
        assertFalse(ch.finishAndReleaseAll());

        EmbeddedChannel server = new EmbeddedChannel(new ReplyEncoder());
        ByteBuf data = Harness.unpooled("x");
        for (Object bad : List.of(new VersionReply("1\r\nEND"), new StatsReply(List.of(new Stat("a b", "1"))),
                new ValuesReply(List.of(new Value(k("a\u0000"), 0, data, Value.NO_CAS))),
                new MetaReply("VA", List.of(), null), new MetaReply("EN", List.of("a\n"), null))) {
            String what = describe(bad);
            assertThrows(EncoderException.class, () -> server.writeOutbound(bad), what);
            assertNull(server.readOutbound(), "nothing written for " + what);
        }
        assertEquals(0, data.refCnt());
        assertFalse(server.finishAndReleaseAll());
    }

    @Test
    void encodedCommandsDecodeBackToThemselves() {
        Object[] commands = {RetrievalCommand.get(k("a"), k("b")), new RetrievalCommand(Verb.GATS, List.of(k("z")), 7),
                new StorageCommand(Verb.CAS, k("k"), 9, 100, 12345, bytes("v\r\nv"), true),
                StorageCommand.set(k("s"), -1, -5, bytes("")), new ArithmeticCommand(Verb.INCR, k("n"), 42, false),
                new ArithmeticCommand(Verb.DECR, k("n"), -1L, true), new DeleteCommand(k("d"), true),
                new TouchCommand(k("t"), 5, false), new FlushAllCommand(3, false),
                new FlushAllCommand(FlushAllCommand.NO_DELAY, true), VersionCommand.INSTANCE,
                new StatsCommand("items"), new VerbosityCommand(2, true), QuitCommand.INSTANCE};
        List<String> expected = new ArrayList<>();
        for (Object c : commands) {
            expected.add(describe(c));
        }
        String wire = command(commands);
        assertEquals(expected, decode(CommandDecoder::new, wire));
    }

    @Test
    void encodedRepliesDecodeBackToThemselves() {
        Object[] replies = {StatusReply.STORED, ValuesReply.EMPTY,
                new ValuesReply(List.of(new Value(k("a"), 1, bytes("x\r\n"), 77), new Value(k("b"), 0, bytes(""), Value.NO_CAS))),
                new NumberReply(-1L), new VersionReply("1.6.18"), new StatsReply(List.of(new Stat("a", "b c"))),
                ErrorReply.UNKNOWN_COMMAND, ErrorReply.BAD_DATA_CHUNK, ErrorReply.server("oops"),
                new MetaReply("VA", List.of("t-1", "f0"), bytes("hi")), new MetaReply("NF", List.of(), null),
                TextReply.RESET, TextReply.line("NOSPARE source class has no spare pages"),
                new TextReply("PREFIX a get 1 hit 0 set 0 del 0\r\nEND\r\n"),
                new ValuesReply(List.of(new Value(k("\u0001\u007f\u00fe"), 0, bytes("k"), Value.NO_CAS)))};
        List<String> expected = new ArrayList<>();
        for (Object r : replies) {
            expected.add(describe(r));
        }
        String wire = reply(replies);
        assertEquals(expected, decode(ReplyDecoder::new, wire));
    }

    @Test
    void statusRepliesAreSingleBuffers() {
        EmbeddedChannel ch = new EmbeddedChannel(new ReplyEncoder());
        ch.writeOutbound(StatusReply.NOT_FOUND);
        ByteBuf b = assertInstanceOf(ByteBuf.class, ch.readOutbound());
        assertEquals("NOT_FOUND\r\n", Harness.text(b));
        assertTrue(b.isDirect() || b.hasArray());
        b.release();
        assertNull(ch.readOutbound());
        assertFalse(ch.finishAndReleaseAll());
    }
}
