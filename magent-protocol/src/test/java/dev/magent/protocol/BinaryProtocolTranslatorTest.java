package dev.magent.protocol;

import static dev.magent.protocol.Harness.describe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.memcache.binary.BinaryMemcacheServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The binary protocol's translation, opcode by opcode, through Netty's {@link BinaryMemcacheServerCodec}
 * and a scripted server in place of the proxy core. Statuses, bodies, keys, extras and cas fields are what
 * memcached 1.6.18 sent for the same requests (recorded with a probe against a real memcached; see
 * docs/protocol.md, "Binary protocol"). Every session also runs byte by byte, with the same result.
 */
class BinaryProtocolTranslatorTest {
    private static final int OPAQUE = 0x11223344;
    private static final byte[] FLAGS_5 = {0, 0, 0, 5, 0, 0, 0, 0};

    // ------------------------------------------------------------------------------------------ the harness

    /** A binary request's bytes. */
    private static byte[] req(int op, String key, byte[] extras, String value, long cas) {
        byte[] k = key.getBytes(StandardCharsets.ISO_8859_1);
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(24 + extras.length + k.length + v.length);
        b.put((byte) 0x80).put((byte) op).putShort((short) k.length).put((byte) extras.length).put((byte) 0)
                .putShort((short) 0).putInt(extras.length + k.length + v.length).putInt(OPAQUE).putLong(cas);
        return b.put(extras).put(k).put(v).array();
    }

    private static byte[] req(int op, String key) {
        return req(op, key, new byte[0], "", 0);
    }

    private static byte[] req(int op) {
        return req(op, "");
    }

    private static byte[] ints(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    /** incr/decr extras: delta, initial, expiration. */
    private static byte[] delta(long delta, long initial, int expiration) {
        return ByteBuffer.allocate(20).putLong(delta).putLong(initial).putInt(expiration).array();
    }

    private static Value value(String key, int flags, String data, long cas) {
        return new Value(key.getBytes(StandardCharsets.ISO_8859_1), flags,
                Unpooled.copiedBuffer(data, StandardCharsets.ISO_8859_1), cas);
    }

    private static ValuesReply values(Value... vs) {
        return new ValuesReply(List.of(vs));
    }

    /**
     * Stands in for the proxy core: records each command, answers from the script (by the command's
     * description), either at once or when told to.
     */
    private static final class ScriptedServer extends ChannelInboundHandlerAdapter {
        final Map<String, Supplier<Reply>> script = new HashMap<>();
        final List<String> commands = new ArrayList<>();
        final List<Reply> held = new ArrayList<>();
        boolean hold;
        ChannelHandlerContext ctx;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            String d = describe(msg);
            commands.add(d);
            ReferenceCountUtil.release(msg);
            Supplier<Reply> answer = script.get(d);
            Reply reply = answer != null ? answer.get()
                    : msg instanceof RetrievalCommand r && r.keys().size() > 1 ? multiGet(r)
                    : ErrorReply.server("unscripted " + d);
            if (hold) {
                held.add(reply);
            } else {
                ctx.writeAndFlush(reply, ctx.voidPromise());
            }
        }

        /** A multi-key gets answered from the script's single-key ones. */
        private Reply multiGet(RetrievalCommand r) {
            List<Value> hits = new ArrayList<>();
            for (byte[] key : r.keys()) {
                Supplier<Reply> one = script.get(r.verb() + " " + new String(key, StandardCharsets.ISO_8859_1));
                if (one == null || !(one.get() instanceof ValuesReply v)) {
                    return ErrorReply.server("unscripted key in " + describe(r));
                }
                hits.addAll(v.values());
            }
            return new ValuesReply(hits);
        }

        void release() {
            hold = false;
            for (Reply r : held) {
                ctx.write(r, ctx.voidPromise());
            }
            held.clear();
            ctx.flush();
        }

        ScriptedServer on(String command, Supplier<Reply> reply) {
            script.put(command, reply);
            return this;
        }

        ScriptedServer on(String command, Reply reply) {
            return on(command, () -> reply);
        }
    }

    private record Session(List<String> commands, List<String> responses, boolean open) {
    }

    private static Session run(ScriptedServer server, boolean byteByByte, byte[]... requests) {
        EmbeddedChannel ch = new EmbeddedChannel(new BinaryMemcacheServerCodec(), new BinaryProtocolTranslator(), server);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] r : requests) {
            all.writeBytes(r);
        }
        byte[] in = all.toByteArray();
        if (byteByByte) {
            for (byte b : in) {
                if (!ch.isOpen()) {
                    break; // closed (quit, a protocol error): a client's further bytes go nowhere
                }
                ch.writeInbound(PooledByteBufAllocator.DEFAULT.heapBuffer(1).writeByte(b));
            }
        } else {
            ch.writeInbound(PooledByteBufAllocator.DEFAULT.heapBuffer(in.length).writeBytes(in));
        }
        if (server.hold) {
            server.release();
        }
        ch.runPendingTasks();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            out.writeBytes(bytes);
            b.release();
        }
        boolean open = ch.isOpen();
        assertFalse(ch.finishAndReleaseAll(), "left behind");
        return new Session(List.copyOf(server.commands), parse(out.toByteArray()), open);
    }

    /**
     * Runs the requests whole and byte by byte (a fresh server each time); the responses must agree (the
     * commands may not: quiet gets read together go as one multi-key gets).
     */
    private static Session run(Supplier<ScriptedServer> server, byte[]... requests) {
        Session whole = run(server.get(), false, requests);
        Session fragmented = run(server.get(), true, requests);
        assertEquals(whole.responses(), fragmented.responses(), "byte by byte");
        assertEquals(whole.open(), fragmented.open(), "byte by byte");
        return whole;
    }

    /** Responses as "op=01 status=0 cas=5 extras=00000005 key=k value=v"; opaque checked here. */
    private static List<String> parse(byte[] out) {
        List<String> responses = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(out);
        while (b.remaining() >= 24) {
            assertEquals((byte) 0x81, b.get(), "response magic");
            int op = b.get() & 0xFF;
            int keyLength = b.getShort() & 0xFFFF;
            int extrasLength = b.get() & 0xFF;
            b.get();
            int status = b.getShort() & 0xFFFF;
            int body = b.getInt();
            assertEquals(OPAQUE, b.getInt(), "opaque echoed");
            long cas = b.getLong();
            byte[] extras = new byte[extrasLength];
            byte[] key = new byte[keyLength];
            byte[] value = new byte[body - keyLength - extrasLength];
            b.get(extras).get(key).get(value);
            StringBuilder sb = new StringBuilder(String.format("op=%02x status=%x", op, status));
            if (cas != 0) {
                sb.append(" cas=").append(cas);
            }
            if (extrasLength > 0) {
                sb.append(" extras=").append(HexFormat.of().formatHex(extras));
            }
            if (keyLength > 0) {
                sb.append(" key=").append(new String(key, StandardCharsets.ISO_8859_1));
            }
            if (value.length > 0) {
                boolean eight = op == 0x05 || op == 0x06;
                sb.append(" value=").append(eight && status == 0 ? Long.toString(ByteBuffer.wrap(value).getLong())
                        : new String(value, StandardCharsets.ISO_8859_1));
            }
            responses.add(sb.toString());
        }
        assertEquals(0, b.remaining(), "a partial response");
        return responses;
    }

    // --------------------------------------------------------------------------------------------- retrieval

    private static ScriptedServer withItem() {
        return new ScriptedServer()
                .on("GETS k", () -> values(value("k", 5, "v", 4)))
                .on("GETS nokey", ValuesReply.EMPTY);
    }

    @Test
    void getHitCarriesFlagsAndCasAndNoKey() {
        Session s = run(BinaryProtocolTranslatorTest::withItem, req(0x00, "k"));
        assertEquals(List.of("GETS k"), s.commands());
        assertEquals(List.of("op=00 status=0 cas=4 extras=00000005 value=v"), s.responses());
    }

    @Test
    void getMissSaysNotFound() {
        Session s = run(BinaryProtocolTranslatorTest::withItem, req(0x00, "nokey"));
        assertEquals(List.of("op=00 status=1 value=Not found"), s.responses());
    }

    @Test
    void getkEchoesTheKeyOnAHitAndOnAMiss() {
        Session s = run(BinaryProtocolTranslatorTest::withItem, req(0x0c, "k"), req(0x0c, "nokey"));
        assertEquals(List.of("op=0c status=0 cas=4 extras=00000005 key=k value=v", "op=0c status=1 key=nokey"),
                s.responses());
    }

    @Test
    void quietGetsAnswerOnlyHitsAndNoopEndsTheBatch() {
        Session s = run(BinaryProtocolTranslatorTest::withItem, req(0x09, "nokey"), req(0x09, "k"),
                req(0x0d, "nokey"), req(0x0d, "k"), req(0x0a));
        assertEquals(List.of("GETS nokey,k,nokey,k", "VERSION"), s.commands()); // one multi-key gets, the noop
        assertEquals(List.of("op=09 status=0 cas=4 extras=00000005 value=v",
                "op=0d status=0 cas=4 extras=00000005 key=k value=v", "op=0a status=0"), s.responses());
    }

    @Test
    void aRunOfQuietGetsGoesAsOneGetsButNeverPastAnotherCommand() {
        Supplier<ScriptedServer> server = () -> withItem()
                .on("MS k [c, MS, F5, T0] [w]", hd(5))
                .on("GETS a", () -> values(value("a", 1, "x", 2)));
        Session s = run(server, req(0x0d, "a"), req(0x0d, "k"), req(0x11, "k", FLAGS_5, "w", 0), req(0x0d, "k"),
                req(0x09, "nokey"), req(0x0a));
        // the set goes after the gets read before it and before the ones read after it
        assertEquals(List.of("GETS a,k", "MS k [c, MS, F5, T0] [w]", "GETS k,nokey", "VERSION"), s.commands());
        assertEquals(List.of("op=0d status=0 cas=2 extras=00000001 key=a value=x",
                "op=0d status=0 cas=4 extras=00000005 key=k value=v",
                "op=0d status=0 cas=4 extras=00000005 key=k value=v", "op=0a status=0"), s.responses());
    }

    @Test
    void aFailedBatchAnswersEveryQuietGetWithTheError() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("GETS a,b", ErrorReply.server("no server could answer"))
                .on("GETS a", ErrorReply.server("no server could answer"))
                .on("GETS b", ErrorReply.server("no server could answer"));
        Session s = run(server, req(0x09, "a"), req(0x0d, "b"), req(0x0a));
        assertEquals(List.of("op=09 status=84 value=no server could answer",
                "op=0d status=84 value=no server could answer", "op=0a status=0"), s.responses());
    }

    @Test
    void longRunsOfQuietGetsAreSplitAndAllAnswered() {
        int n = BinaryProtocolTranslator.MAX_BATCH * 2 + 1;
        Supplier<ScriptedServer> server = () -> {
            ScriptedServer sv = new ScriptedServer();
            for (int i = 0; i < n; i++) {
                String key = "k" + i;
                sv.on("GETS " + key, () -> values(value(key, 0, "v", 1)));
            }
            return sv;
        };
        byte[][] requests = new byte[n + 1][];
        for (int i = 0; i < n; i++) {
            requests[i] = req(0x0d, "k" + i);
        }
        requests[n] = req(0x0a);
        Session s = run(server, requests);
        assertEquals(3 + 1, s.commands().size(), "batches of " + BinaryProtocolTranslator.MAX_BATCH + ", the noop");
        assertEquals(n + 1, s.responses().size());
        assertEquals("op=0d status=0 cas=1 extras=00000000 key=k" + (n - 1) + " value=v", s.responses().get(n - 1));
    }

    @Test
    void quietGetsBeforeAProtocolErrorAreAnsweredBeforeTheClose() {
        Session s = run(BinaryProtocolTranslatorTest::withItem, req(0x0d, "k"), req(0x00, "a".repeat(251)));
        assertEquals(List.of("op=0d status=0 cas=4 extras=00000005 key=k value=v",
                "op=00 status=4 value=Invalid arguments"), s.responses());
        assertFalse(s.open());
    }

    @Test
    void gatFamilyAndTouchSendGats() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("GATS exp=100 t", () -> values(value("t", 5, "val", 16)))
                .on("GATS exp=100 nokey", ValuesReply.EMPTY);
        byte[] e = ints(100);
        Session s = run(server, req(0x1c, "t", e, "", 0), req(0x1c, "nokey", e, "", 0), req(0x1d, "t", e, "", 0),
                req(0x23, "t", e, "", 0), req(0x23, "nokey", e, "", 0), req(0x1e, "nokey", e, "", 0),
                req(0x24, "t", e, "", 0), req(0x0a));
        assertEquals(List.of(
                "op=1c status=0 cas=16 extras=00000005", // touch: flags and cas, no value
                "op=1c status=1 value=Not found",
                "op=1d status=0 cas=16 extras=00000005 value=val",
                "op=23 status=0 cas=16 extras=00000005 key=t value=val",
                "op=23 status=1 key=nokey",
                "op=24 status=0 cas=16 extras=00000005 key=t value=val",
                "op=0a status=0"), s.responses());
    }

    // -------------------------------------------------------------------------------------------------- stores

    @Test
    void aSetIsAnMsThatReturnsTheNewCasWithoutAGetsBehindIt() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MS k [c, MS, F5, T0] [v]", hd(7));
        Session s = run(server, req(0x01, "k", FLAGS_5, "v", 0));
        assertEquals(List.of("MS k [c, MS, F5, T0] [v]"), s.commands());
        assertEquals(List.of("op=01 status=0 cas=7"), s.responses());
    }

    @Test
    void quietStoresSayNothingOnSuccessAndSendNoGets() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MS k [c, MS, F5, T0] [v]", hd(1))
                .on("MS k [c, ME, F5, T0] [v]", meta("NS"))
                .on("MS k [c, MA] [w]", hd(2));
        Session s = run(server, req(0x11, "k", FLAGS_5, "v", 0), req(0x12, "k", FLAGS_5, "v", 0),
                req(0x19, "k", new byte[0], "w", 0), req(0x0a));
        assertEquals(List.of("MS k [c, MS, F5, T0] [v]", "MS k [c, ME, F5, T0] [v]", "MS k [c, MA] [w]",
                "VERSION"), s.commands());
        assertEquals(List.of("op=12 status=2 value=Data exists for key.", "op=0a status=0"), s.responses());
    }

    @Test
    void aSetOrReplaceWithACasIsACasAndAnswersWithTheNewCas() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MS k [c, MS, F5, T0, C9] [v]", hd(10))
                .on("MS k [c, MR, F5, T0, C9] [v]", hd(10))
                .on("MS k [c, ME, F5, T0] [v]", hd(10)); // add ignores the cas, as memcached does
        Session s = run(server, req(0x01, "k", FLAGS_5, "v", 9), req(0x03, "k", FLAGS_5, "v", 9),
                req(0x02, "k", FLAGS_5, "v", 9));
        assertEquals(List.of("MS k [c, MS, F5, T0, C9] [v]", "MS k [c, MR, F5, T0, C9] [v]",
                "MS k [c, ME, F5, T0] [v]"), s.commands());
        assertEquals(List.of("op=01 status=0 cas=10", "op=03 status=0 cas=10", "op=02 status=0 cas=10"),
                s.responses());
    }

    @Test
    void expirationsBeyondTheTextProtocolsRangeBecomeTheLatestItCanSay() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MS k [c, MS, F0, T2147483647] [v]", hd(1))
                .on("GATS exp=2147483647 k", ValuesReply.EMPTY)
                .on("INCR n 1", new NumberReply(2))
                .on("ADD n flags=0 exp=2147483647 [0]", StatusReply.NOT_STORED);
        Session s = run(server, req(0x11, "k", ints(0, 0x80000000), "v", 0), req(0x1e, "k", ints(-2), "", 0),
                req(0x15, "n", delta(1, 0, -2), "", 0), req(0x0a));
        assertEquals(List.of("MS k [c, MS, F0, T2147483647] [v]", "GATS exp=2147483647 k", "INCR n 1",
                "ADD n flags=0 exp=2147483647 [0]", "VERSION"), s.commands());
        assertEquals(List.of("op=0a status=0"), s.responses());
    }

    @Test
    void everyQuietStoreReportsItsFailure() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MS k [c, MS, F5, T0, C9] [v]", meta("EX"))
                .on("MS k [c, MR, F5, T0] [v]", meta("NS"))
                .on("MS k [c, MP] [v]", meta("NS"))
                .on("MS k [c, MA] [v]", meta("NS"))
                .on("DECR n 1", StatusReply.NOT_FOUND);
        Session s = run(server, req(0x11, "k", FLAGS_5, "v", 9), req(0x13, "k", FLAGS_5, "v", 0),
                req(0x1a, "k", new byte[0], "v", 0), req(0x19, "k", new byte[0], "v", 0),
                req(0x16, "n", delta(1, 0, -1), "", 0), req(0x0a));
        assertEquals(List.of("op=11 status=2 value=Data exists for key.", "op=13 status=1 value=Not found",
                "op=1a status=5 value=Not stored.", "op=19 status=5 value=Not stored.", "op=16 status=1 value=Not found",
                "op=0a status=0"), s.responses());
    }

    @Test
    void eachVerbThatDidNotStoreGetsMemcachedsStatus() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MS k [c, ME, F5, T0] [v]", meta("NS"))
                .on("MS k [c, MR, F5, T0] [v]", meta("NS"))
                .on("MS k [c, MA] [v]", meta("NS"))
                .on("MS k [c, MP] [v]", meta("NS"))
                .on("MS k [c, MS, F5, T0, C9] [v]", meta("EX"))
                .on("MS k [c, MR, F5, T300, C9] [v]", meta("NF"))
                .on("MS k [c, MA, C9] [v]", meta("EX"))
                .on("MS k [c, MP, C9] [v]", meta("NS"));
        Session s = run(server, req(0x02, "k", FLAGS_5, "v", 0), req(0x03, "k", FLAGS_5, "v", 0),
                req(0x0e, "k", new byte[0], "v", 0), req(0x0f, "k", new byte[0], "v", 0),
                req(0x01, "k", FLAGS_5, "v", 9), req(0x03, "k", new byte[] {0, 0, 0, 5, 0, 0, 1, 44}, "v", 9),
                req(0x0e, "k", new byte[0], "v", 9), req(0x0f, "k", new byte[0], "v", 9));
        assertEquals(List.of(
                "op=02 status=2 value=Data exists for key.",
                "op=03 status=1 value=Not found",
                "op=0e status=5 value=Not stored.",
                "op=0f status=5 value=Not stored.",
                "op=01 status=2 value=Data exists for key.",
                "op=03 status=1 value=Not found",
                // append and prepend honour a cas as memcached does: EXISTS when it differs, NOT_STORED when the key is gone
                "op=0e status=2 value=Data exists for key.",
                "op=0f status=5 value=Not stored."), s.responses());
    }

    @Test
    void aValueTooLargeIsRefusedAndReadPast() {
        ProtocolLimits small = ProtocolLimits.DEFAULT.withMaxValueSize(4);
        ScriptedServer server = new ScriptedServer();
        EmbeddedChannel ch = new EmbeddedChannel(new BinaryMemcacheServerCodec(), new BinaryProtocolTranslator(small),
                server);
        byte[] big = req(0x11, "k", FLAGS_5, "12345", 0);
        byte[] noop = req(0x0a);
        ch.writeInbound(Unpooled.wrappedBuffer(big, noop));
        List<String> responses = new ArrayList<>();
        ByteBuf b;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((b = ch.readOutbound()) != null) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            out.writeBytes(bytes);
            b.release();
        }
        responses.addAll(parse(out.toByteArray()));
        assertEquals(List.of("op=11 status=3 value=Too large.", "op=0a status=0"), responses);
        assertEquals(List.of("VERSION", "VERSION"), server.commands); // both answered here
        assertTrue(ch.isOpen());
        assertFalse(ch.finishAndReleaseAll());
    }

    // ----------------------------------------------------------------------------------------- delete, arith

    @Test
    void deleteAndDeleteq() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("DELETE d", StatusReply.DELETED)
                .on("DELETE nokey", StatusReply.NOT_FOUND);
        Session s = run(server, req(0x04, "d"), req(0x04, "nokey"), req(0x14, "d"), req(0x14, "nokey"), req(0x0a));
        assertEquals(List.of("op=04 status=0", "op=04 status=1 value=Not found", "op=14 status=1 value=Not found",
                "op=0a status=0"), s.responses());
    }

    @Test
    void deleteWithACasDeletesOnlyWhenTheCasMatches() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("GETS k", () -> values(value("k", 0, "v", 8)))
                .on("GETS nokey", ValuesReply.EMPTY)
                .on("DELETE k", StatusReply.DELETED);
        Session s = run(server, req(0x04, "k", new byte[0], "", 9), req(0x04, "nokey", new byte[0], "", 9),
                req(0x04, "k", new byte[0], "", 8));
        assertEquals(List.of("GETS k", "GETS nokey", "GETS k", "DELETE k"), s.commands());
        assertEquals(List.of("op=04 status=2 value=Data exists for key.", "op=04 status=1 value=Not found",
                "op=04 status=0"), s.responses());
    }

    @Test
    void incrAndDecrAnswerEightBytesAndTheCas() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("INCR n 3", new NumberReply(13))
                .on("DECR n 100", new NumberReply(0))
                .on("GETS n", () -> values(value("n", 0, "13", 13)));
        Session s = run(server, req(0x05, "n", delta(3, 10, -1), "", 0), req(0x06, "n", delta(100, 10, -1), "", 0));
        assertEquals(List.of("INCR n 3", "GETS n", "DECR n 100", "GETS n"), s.commands());
        assertEquals(List.of("op=05 status=0 cas=13 value=13", "op=06 status=0 cas=13 value=0"), s.responses());
    }

    @Test
    void incrOfAMissingKeyStoresTheInitialValueUnlessExpirationIsAllOnes() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("INCR n 1", StatusReply.NOT_FOUND)
                .on("ADD n flags=0 exp=0 [10]", StatusReply.STORED)
                .on("GETS n", () -> values(value("n", 0, "10", 12)));
        Session s = run(server, req(0x05, "n", delta(1, 10, 0), "", 0), req(0x05, "n", delta(1, 10, -1), "", 0));
        assertEquals(List.of("INCR n 1", "ADD n flags=0 exp=0 [10]", "GETS n", "INCR n 1", "GETS n"), s.commands());
        assertEquals(List.of("op=05 status=0 cas=12 value=10", "op=05 status=1 value=Not found"), s.responses());
    }

    @Test
    void incrOfANonNumberAndQuietIncr() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("INCR a 1", ErrorReply.client("cannot increment or decrement non-numeric value"))
                .on("ADD a flags=0 exp=0 [10]", StatusReply.NOT_STORED)
                .on("INCR n 1", new NumberReply(2))
                .on("DECR n 1", new NumberReply(1));
        Session s = run(server, req(0x05, "a", delta(1, 10, 0), "", 0), req(0x15, "n", delta(1, 10, -1), "", 0),
                req(0x16, "n", delta(1, 10, -1), "", 0), req(0x0a));
        assertEquals(List.of("op=05 status=6 value=Non-numeric server-side value for incr or decr",
                "op=0a status=0"), s.responses());
    }

    // ------------------------------------------------------------------------------- server-wide and local

    @Test
    void noopVersionFlushAndStat() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("VERSION", new VersionReply("1.6.18"))
                .on("FLUSH_ALL", StatusReply.OK)
                .on("FLUSH_ALL 5", StatusReply.OK)
                .on("STATS", new StatsReply(List.of(new Stat("pid", "1"), new Stat("version", "1.6.18"))))
                .on("STATS <settings>", new StatsReply(List.of(new Stat("maxbytes", "67108864"))))
                .on("STATS <bogus>", ErrorReply.UNKNOWN_COMMAND);
        Session s = run(server, req(0x0a), req(0x0b), req(0x08), req(0x08, "", ints(5), "", 0), req(0x18),
                req(0x10), req(0x10, "settings"), req(0x10, "bogus"), req(0x10, "items\r\nflush_all"));
        // a noop and an answer made here pass a version too (see answersMadeHereStillPassAVersion...)
        assertEquals(List.of("VERSION", "VERSION", "FLUSH_ALL", "FLUSH_ALL 5", "FLUSH_ALL", "STATS",
                "STATS <settings>", "STATS <bogus>", "VERSION"), s.commands());
        assertEquals(List.of(
                "op=0a status=0",
                "op=0b status=0 value=1.6.18",
                "op=08 status=0",
                "op=08 status=0",
                "op=10 status=0 key=pid value=1",
                "op=10 status=0 key=version value=1.6.18",
                "op=10 status=0",
                "op=10 status=0 key=maxbytes value=67108864",
                "op=10 status=0",
                "op=10 status=1 value=Not found",
                "op=10 status=1 value=Not found"), s.responses()); // a group with a CR or LF never goes on
        assertTrue(s.open());
    }

    @Test
    void statResetDetailAndDumpAnswerAsMemcachedDoes() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("STATS <reset>", TextReply.RESET)
                .on("STATS <detail on>", StatusReply.OK)
                .on("STATS <detail dump>", new TextReply("END\r\n"));
        Session s = run(server, req(0x10, "reset"), req(0x10, "detail on"), req(0x10, "detail dump"));
        assertEquals(List.of("op=10 status=0", "op=10 status=0", "op=10 status=0 key=detailed value=END\r\n",
                "op=10 status=0"), s.responses());
    }

    @Test
    void quitAnswersThenCloses() {
        Session s = run(ScriptedServer::new, req(0x07), req(0x0a));
        assertEquals(List.of("op=07 status=0"), s.responses());
        assertFalse(s.open());
    }

    @Test
    void quitqClosesWithoutAWord() {
        Session s = run(ScriptedServer::new, req(0x17), req(0x0a));
        assertEquals(List.of(), s.responses());
        assertFalse(s.open());
    }

    @Test
    void verbositySaslAndUnknownOpcodesAreUnknownCommands() {
        Session s = run(ScriptedServer::new, req(0x1b, "", ints(1), "", 0), req(0x20),
                req(0x21, "PLAIN", new byte[0], "\0u\0p", 0), req(0x22, "PLAIN", new byte[0], "x", 0), req(0x50, "k"),
                req(0xff), req(0x0a));
        assertEquals(List.of("op=1b status=81 value=Unknown command", "op=20 status=81 value=Unknown command",
                "op=21 status=81 value=Unknown command", "op=22 status=81 value=Unknown command",
                "op=50 status=81 value=Unknown command", "op=ff status=81 value=Unknown command", "op=0a status=0"),
                s.responses());
        assertEquals(7, s.commands().stream().filter("VERSION"::equals).count()); // all answered here
        assertTrue(s.open());
    }

    // ------------------------------------------------------------------------------------------- bad input

    @Test
    void malformedRequestsAnswerEinvalAndClose() {
        byte[][] malformed = {
            req(0x00, "a".repeat(251)),          // key too long
            req(0x01, "k", new byte[0], "v", 0), // set without extras
            req(0x00, "k", ints(1), "", 0),      // get with extras
            req(0x0e, "k", ints(1), "v", 0),     // append with extras
            req(0x05, "k"),                      // incr without extras
            req(0x0a, "", ints(1), "", 0),       // noop with extras
            req(0x00),                           // get without a key
        };
        for (byte[] m : malformed) {
            Session s = run(ScriptedServer::new, m, req(0x0a));
            assertEquals(1, s.responses().size(), s.toString());
            assertTrue(s.responses().get(0).endsWith("status=4 value=Invalid arguments"), s.toString());
            assertFalse(s.open());
            assertTrue(s.commands().isEmpty());
        }
    }

    @Test
    void aValueWhereNoneIsTakenIsRefusedBeforeItIsRead() {
        ScriptedServer server = new ScriptedServer();
        EmbeddedChannel ch = new EmbeddedChannel(new BinaryMemcacheServerCodec(), new BinaryProtocolTranslator(), server);
        // a get announcing a 1 GiB value: only its header and key arrive
        byte[] header = ByteBuffer.allocate(25).put((byte) 0x80).put((byte) 0).putShort((short) 1).put((byte) 0)
                .put((byte) 0).putShort((short) 0).putInt(1 << 30).putInt(OPAQUE).putLong(0).put((byte) 'k').array();
        ch.writeInbound(Unpooled.wrappedBuffer(header));
        assertFalse(ch.isOpen(), "closed at once");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            out.writeBytes(bytes);
            b.release();
        }
        assertEquals(List.of("op=00 status=4 value=Invalid arguments"), parse(out.toByteArray()));
        assertTrue(server.commands.isEmpty());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void aKeyOf250BytesIsTaken() {
        String key = "a".repeat(250);
        Session s = run(() -> new ScriptedServer().on("GETS " + key, ValuesReply.EMPTY), req(0x00, key));
        assertEquals(List.of("op=00 status=1 value=Not found"), s.responses());
    }

    @Test
    void aKeyTheTextProtocolCannotCarryGoesBase64InAMetaCommand() {
        // memcached stores binary keys with a space, a line end or a NUL; a meta client reaches them with b
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("MG YSBi=<a b> [b, v, f, c]", new MetaReply("VA", List.of("f5", "c3"),
                        Unpooled.copiedBuffer("v", StandardCharsets.US_ASCII)))
                .on("MS YQ0KYg===<a\r\nb> [b, c, MS, F5, T0] [v]", hd(4))
                .on("MG YSBi=<a b> [b, T9, v, f, c]", new MetaReply("EN", List.of(), null))
                .on("MD YSBi=<a b> [b, C7]", meta("EX"));
        Session s = run(server, req(0x00, "a b"), req(0x01, "a\r\nb", FLAGS_5, "v", 0),
                req(0x1d, "a b", ints(9), "", 0), req(0x04, "a b", new byte[0], "", 7),
                req(0x05, "a b", delta(1, 0, -1), "", 0), req(0x0a));
        assertEquals(List.of("op=00 status=0 cas=3 extras=00000005 value=v", "op=01 status=0 cas=4",
                "op=1d status=1 value=Not found", "op=04 status=2 value=Data exists for key.",
                "op=05 status=4 value=Invalid arguments", "op=0a status=0"), s.responses());
        assertTrue(s.open(), "only incr and decr of such a key are refused, and the connection stays open");
    }

    @Test
    void aRequestWithoutTheMagicClosesSilently() {
        byte[] bad = req(0x0a);
        bad[0] = (byte) 0x81;
        Session s = run(ScriptedServer::new, req(0x0a), bad, req(0x0a));
        assertEquals(List.of("op=0a status=0"), s.responses());
        assertFalse(s.open());
    }

    @Test
    void serverErrorsMapToBinaryStatuses() {
        Supplier<ScriptedServer> server = () -> new ScriptedServer()
                .on("GETS k", ErrorReply.server("no server could answer"))
                .on("MS k [c, MS, F5, T0] [v]", ErrorReply.OBJECT_TOO_LARGE)
                .on("DELETE k", ErrorReply.server("out of memory storing object"));
        Session s = run(server, req(0x00, "k"), req(0x01, "k", FLAGS_5, "v", 0), req(0x04, "k"));
        assertEquals(List.of("op=00 status=84 value=no server could answer", "op=01 status=3 value=Too large.",
                "op=04 status=82 value=Out of memory"), s.responses());
    }

    // ------------------------------------------------------------------------------------------------- order

    @Test
    void responsesKeepRequestOrderWhenRepliesComeLater() {
        Supplier<ScriptedServer> server = () -> {
            ScriptedServer s = withItem();
            s.hold = true;
            return s;
        };
        Session s = run(server, req(0x00, "k"), req(0x0a), req(0x50), req(0x00, "nokey"), req(0x0a));
        assertEquals(List.of("op=00 status=0 cas=4 extras=00000005 value=v", "op=0a status=0",
                "op=50 status=81 value=Unknown command", "op=00 status=1 value=Not found", "op=0a status=0"),
                s.responses());
    }

    @Test
    void answersMadeHereStillPassAVersionSoThatTheNextHandlersFlowControlCountsThem() {
        Supplier<ScriptedServer> server = () -> {
            ScriptedServer sv = withItem();
            sv.hold = true;
            return sv;
        };
        Session s = run(server, req(0x00, "k"), req(0x0a), req(0x50), req(0x0a));
        assertEquals(List.of("GETS k", "VERSION", "VERSION", "VERSION"), s.commands());
        assertEquals(List.of("op=00 status=0 cas=4 extras=00000005 value=v", "op=0a status=0",
                "op=50 status=81 value=Unknown command", "op=0a status=0"), s.responses());
    }

    @Test
    void repliesStillOutstandingAtCloseAreReleased() {
        ScriptedServer server = withItem();
        server.hold = true;
        EmbeddedChannel ch = new EmbeddedChannel(new BinaryMemcacheServerCodec(), new BinaryProtocolTranslator(), server);
        ch.writeInbound(Unpooled.wrappedBuffer(req(0x00, "k"), req(0x01, "k", FLAGS_5, "v", 0)));
        ch.close();
        server.release(); // the replies arrive after the close: dropped and released, never written
        assertFalse(ch.finishAndReleaseAll());
    }

    /** ms's success, with the new item's cas ({@code c}). */
    private static MetaReply hd(long cas) {
        return new MetaReply("HD", List.of("c" + cas), null);
    }

    private static MetaReply meta(String code) {
        return new MetaReply(code, List.of(), null);
    }
}
