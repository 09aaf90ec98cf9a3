package dev.magent.protocol;

import static dev.magent.protocol.Wire.bytes;
import static dev.magent.protocol.Wire.encode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Every command and reply as exact bytes. */
class EncoderTest {
    private static byte[] k(String s) {
        return Keys.of(s);
    }

    @Test
    void commands() {
        assertEquals("get a b\r\n", encode(new CommandEncoder(), RetrievalCommand.get(k("a"), k("b"))));
        assertEquals("gets a\r\n", encode(new CommandEncoder(), RetrievalCommand.gets(k("a"))));
        assertEquals("gat 100 a b\r\n", encode(new CommandEncoder(), new RetrievalCommand(Verb.GAT, List.of(k("a"), k("b")), 100)));
        assertEquals("gats -1 a\r\n", encode(new CommandEncoder(), new RetrievalCommand(Verb.GATS, List.of(k("a")), -1)));
        assertEquals("set k 4294967295 -1 3\r\nabc\r\n",
                encode(new CommandEncoder(), new StorageCommand(Verb.SET, k("k"), -1, -1, 0, bytes("abc"), false)));
        assertEquals("add k 0 0 0 noreply\r\n\r\n",
                encode(new CommandEncoder(), new StorageCommand(Verb.ADD, k("k"), 0, 0, 0, bytes(""), true)));
        assertEquals("replace k 1 2 1\r\nx\r\n", encode(new CommandEncoder(), new StorageCommand(Verb.REPLACE, k("k"), 1, 2, 0, bytes("x"), false)));
        assertEquals("append k 1 2 1\r\nx\r\n", encode(new CommandEncoder(), new StorageCommand(Verb.APPEND, k("k"), 1, 2, 0, bytes("x"), false)));
        assertEquals("prepend k 1 2 1\r\nx\r\n", encode(new CommandEncoder(), new StorageCommand(Verb.PREPEND, k("k"), 1, 2, 0, bytes("x"), false)));
        assertEquals("cas k 0 0 2 18446744073709551615\r\nab\r\n",
                encode(new CommandEncoder(), new StorageCommand(Verb.CAS, k("k"), 0, 0, -1L, bytes("ab"), false)));
        assertEquals("incr k 18446744073709551615\r\n", encode(new CommandEncoder(), new ArithmeticCommand(Verb.INCR, k("k"), -1L, false)));
        assertEquals("decr k 5 noreply\r\n", encode(new CommandEncoder(), new ArithmeticCommand(Verb.DECR, k("k"), 5, true)));
        assertEquals("delete k\r\n", encode(new CommandEncoder(), new DeleteCommand(k("k"), false)));
        assertEquals("delete k noreply\r\n", encode(new CommandEncoder(), new DeleteCommand(k("k"), true)));
        assertEquals("touch k 10\r\n", encode(new CommandEncoder(), new TouchCommand(k("k"), 10, false)));
        assertEquals("flush_all\r\n", encode(new CommandEncoder(), new FlushAllCommand(FlushAllCommand.NO_DELAY, false)));
        assertEquals("flush_all 5 noreply\r\n", encode(new CommandEncoder(), new FlushAllCommand(5, true)));
        assertEquals("version\r\n", encode(new CommandEncoder(), VersionCommand.INSTANCE));
        assertEquals("quit\r\n", encode(new CommandEncoder(), QuitCommand.INSTANCE));
        assertEquals("stats\r\n", encode(new CommandEncoder(), StatsCommand.GENERAL));
        assertEquals("stats slabs\r\n", encode(new CommandEncoder(), new StatsCommand("slabs")));
        assertEquals("verbosity 1\r\n", encode(new CommandEncoder(), new VerbosityCommand(1, false)));
        assertEquals("mg k v f t\r\n", encode(new CommandEncoder(), new MetaGetCommand(k("k"), List.of("v", "f", "t"))));
    }

    @Test
    void replies() {
        for (StatusReply s : StatusReply.values()) {
            assertEquals(s.name() + "\r\n", encode(new ReplyEncoder(), s));
        }
        assertEquals("END\r\n", encode(new ReplyEncoder(), ValuesReply.EMPTY));
        assertEquals("VALUE a 0 1\r\nx\r\nVALUE b 4294967295 3 18446744073709551614\r\nyyy\r\nEND\r\n",
                encode(new ReplyEncoder(), new ValuesReply(List.of(new Value(k("a"), 0, bytes("x"), Value.NO_CAS),
                        new Value(k("b"), -1, bytes("yyy"), -2L)))));
        assertEquals("VALUE a 0 1 0\r\nx\r\nEND\r\n",
                encode(new ReplyEncoder(), new ValuesReply(List.of(new Value(k("a"), 0, bytes("x"), 0)))));
        assertEquals("18446744073709551615\r\n", encode(new ReplyEncoder(), new NumberReply(-1L)));
        assertEquals("0\r\n", encode(new ReplyEncoder(), new NumberReply(0)));
        assertEquals("VERSION 1.6.18\r\n", encode(new ReplyEncoder(), new VersionReply("1.6.18")));
        assertEquals("STAT pid 1\r\nSTAT version 1 2\r\nEND\r\n",
                encode(new ReplyEncoder(), new StatsReply(List.of(new Stat("pid", "1"), new Stat("version", "1 2")))));
        assertEquals("ERROR\r\n", encode(new ReplyEncoder(), ErrorReply.UNKNOWN_COMMAND));
        assertEquals("CLIENT_ERROR bad data chunk\r\n", encode(new ReplyEncoder(), ErrorReply.BAD_DATA_CHUNK));
        assertEquals("SERVER_ERROR object too large for cache\r\n", encode(new ReplyEncoder(), ErrorReply.OBJECT_TOO_LARGE));
        assertEquals("VA 2 t100 f5\r\nhi\r\n", encode(new ReplyEncoder(), new MetaReply("VA", List.of("t100", "f5"), bytes("hi"))));
        assertEquals("EN\r\n", encode(new ReplyEncoder(), new MetaReply("EN", List.of(), null)));
    }

    @Test
    void encodedCommandsDecodeBackToThemselves() {
        Object[] commands = {RetrievalCommand.get(k("a"), k("b")), new RetrievalCommand(Verb.GATS, List.of(k("z")), 7),
                new StorageCommand(Verb.CAS, k("k"), 9, 100, 12345, bytes("v\r\nv"), true),
                new ArithmeticCommand(Verb.INCR, k("n"), 42, false), new DeleteCommand(k("d"), true),
                new TouchCommand(k("t"), 5, false), new FlushAllCommand(3, false), VersionCommand.INSTANCE,
                new StatsCommand("items"), new VerbosityCommand(2, true), QuitCommand.INSTANCE};
        StringBuilder expected = new StringBuilder();
        for (Object c : commands) {
            expected.append(Wire.describe(c)).append('|');
        }
        String wire = encode(new CommandEncoder(), commands);
        assertEquals(expected.toString(), String.join("|", Wire.decode(new CommandDecoder(), wire)) + "|");
    }
}
