package dev.magent.protocol;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.memcache.binary.BinaryMemcacheServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Bounded randomized binary input with a fixed seed: valid requests of every opcode, mutated by bit flips,
 * truncations, insertions and length changes, and random bytes after the magic. The translator must only
 * pass on commands, never throw, answer with whole responses, and release everything (LeakGuard checks the
 * pooled input and every reply and value); replies come back at once or late, in pieces of random size.
 */
class BinaryFuzzTest {
    private static final int CASES = 4_000;
    private static final int[] OPCODES = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
        0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x20,
        0x21, 0x23, 0x24, 0x50};
    /** Small value limit, so that the too-large path is taken often. */
    private static final ProtocolLimits SMALL = ProtocolLimits.DEFAULT.withMaxValueSize(16);

    /** Answers every command with a reply of a type its verb could get, pooled where it holds data. */
    private static final class AnyReply extends ChannelInboundHandlerAdapter {
        final Random random;
        final List<Reply> held = new ArrayList<>();
        final boolean late;
        ChannelHandlerContext ctx;
        int commands;

        AnyReply(Random random) {
            this.random = random;
            this.late = random.nextBoolean();
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            assertTrue(msg instanceof Command, "not a command: " + msg);
            Command c = (Command) msg;
            commands++;
            Reply reply = switch (random.nextInt(7)) {
                case 0 -> ErrorReply.server("down");
                case 1 -> StatusReply.values()[random.nextInt(StatusReply.values().length)];
                case 2 -> new NumberReply(random.nextLong());
                case 3 -> new StatsReply(List.of(new Stat("a", "1")));
                case 4 -> new VersionReply("1.6.18");
                default -> c instanceof RetrievalCommand r && random.nextBoolean()
                        ? new ValuesReply(List.of(new Value(r.keys().get(0), 1,
                                PooledByteBufAllocator.DEFAULT.heapBuffer(3).writeBytes(new byte[] {1, 2, 3}), 5)))
                        : ValuesReply.EMPTY;
            };
            ReferenceCountUtil.release(msg);
            if (late) {
                held.add(reply);
            } else {
                ctx.write(reply, ctx.voidPromise());
            }
        }

        void flushHeld() {
            for (Reply r : held) {
                ctx.write(r, ctx.voidPromise());
            }
            held.clear();
            ctx.flush();
        }
    }

    private static byte[] request(Random random) {
        int op = OPCODES[random.nextInt(OPCODES.length)];
        // mostly the shape the opcode takes, so that most requests get past validation
        int extrasLength = random.nextInt(5) == 0 ? new int[] {0, 4, 8, 20}[random.nextInt(4)] : switch (op) {
            case 0x01, 0x02, 0x03, 0x11, 0x12, 0x13 -> 8;
            case 0x05, 0x06, 0x15, 0x16 -> 20;
            case 0x1b, 0x1c, 0x1d, 0x1e, 0x23, 0x24 -> 4;
            default -> 0;
        };
        boolean keyless = op == 0x07 || op == 0x08 || op == 0x0a || op == 0x0b || op == 0x10 || op == 0x17 || op == 0x18;
        boolean withValue = op == 0x01 || op == 0x02 || op == 0x03 || op == 0x0e || op == 0x0f || (op >= 0x11 && op <= 0x13)
                || op == 0x19 || op == 0x1a;
        byte[] key = new byte[(keyless ? random.nextInt(8) != 0 : random.nextInt(8) == 0) ? 0
                : 1 + random.nextInt(random.nextInt(20) == 0 ? 300 : 8)];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) ('a' + random.nextInt(26));
        }
        byte[] value = new byte[withValue || random.nextInt(8) == 0 ? random.nextInt(40) : 0];
        random.nextBytes(value);
        ByteBuffer b = ByteBuffer.allocate(24 + extrasLength + key.length + value.length);
        b.put((byte) 0x80).put((byte) op).putShort((short) key.length).put((byte) extrasLength).put((byte) 0)
                .putShort((short) 0).putInt(extrasLength + key.length + value.length).putInt(random.nextInt())
                .putLong(random.nextInt(3) == 0 ? random.nextLong() : 0);
        byte[] extras = new byte[extrasLength];
        random.nextBytes(extras);
        return b.put(extras).put(key).put(value).array();
    }

    private static byte[] session(Random random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int n = 1 + random.nextInt(6);
        for (int i = 0; i < n; i++) {
            out.writeBytes(request(random));
        }
        byte[] bytes = out.toByteArray();
        switch (random.nextInt(5)) {
            case 0 -> bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
            case 1 -> bytes = java.util.Arrays.copyOf(bytes, 1 + random.nextInt(bytes.length));
            case 2 -> {
                // random bytes after a valid magic
                bytes = new byte[1 + random.nextInt(200)];
                random.nextBytes(bytes);
                bytes[0] = (byte) 0x80;
            }
            case 3 -> {
                // a wrong total body length in the first header
                int body = random.nextInt(8) == 0 ? random.nextInt() : random.nextInt(64);
                ByteBuffer.wrap(bytes).putInt(8, body);
            }
            default -> {
            }
        }
        return bytes;
    }

    @Test
    void onlyCommandsGoOnAndEverythingIsReleased() {
        Random random = new Random(13);
        long commands = 0;
        long responseBytes = 0;
        for (int i = 0; i < CASES; i++) {
            byte[] input = session(random);
            AnyReply server = new AnyReply(random);
            EmbeddedChannel ch = new EmbeddedChannel(new BinaryMemcacheServerCodec(),
                    new BinaryProtocolTranslator(random.nextBoolean() ? SMALL : ProtocolLimits.DEFAULT), server);
            int at = 0;
            while (at < input.length && ch.isOpen()) {
                int n = 1 + random.nextInt(input.length - at);
                ch.writeInbound(PooledByteBufAllocator.DEFAULT.heapBuffer(n).writeBytes(input, at, n));
                at += n;
            }
            server.flushHeld();
            ch.checkException();
            ByteBuf b;
            while ((b = ch.readOutbound()) != null) {
                responseBytes += b.readableBytes();
                b.release();
            }
            commands += server.commands;
            ch.finishAndReleaseAll();
        }
        assertTrue(commands > CASES / 2, "the fuzz reached the commands: " + commands);
        System.out.println("MEASURED: binary fuzz: " + CASES + " sessions, " + commands + " commands passed on, "
                + responseBytes + " response bytes");
        assertTrue(responseBytes > 0);
    }
}
