package dev.magent.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Bounded randomized decoding (fixed seed): random bytes and mutations of valid traffic never make a
 * decoder throw or yield anything but model objects or protocol errors, and nothing leaks (LeakGuard).
 */
class FuzzTest {
    private static final String[] REQUESTS = {"get a b c\r\n", "gets k\r\n", "gat 10 k\r\n", "set k 1 2 3\r\nabc\r\n",
            "add k 0 0 1 noreply\r\nx\r\n", "cas k 0 0 2 99\r\nab\r\n", "incr k 5\r\n", "decr k 1 noreply\r\n",
            "delete k\r\n", "delete k 0 noreply\r\n", "touch k 5\r\n", "flush_all 1\r\n", "version\r\n", "stats\r\n",
            "verbosity 1\r\n", "quit\r\n", "append k 0 0 4\r\n\r\n\r\n\r\n"};
    private static final String[] REPLIES = {"VALUE a 0 1\r\nx\r\nEND\r\n", "VALUE b 5 2 77\r\nyy\r\nEND\r\n", "END\r\n",
            "STORED\r\n", "NOT_FOUND\r\n", "42\r\n", "VERSION 1.6\r\n", "STAT a 1\r\nEND\r\n", "ERROR\r\n",
            "SERVER_ERROR x\r\n", "VA 2 f1 t-1\r\nab\r\n", "EN\r\n", "HD\r\n"};

    @Test
    void commandDecoderOnlyYieldsCommandsOrErrors() {
        fuzz(CommandDecoder::new, REQUESTS, o -> o instanceof Command || o instanceof ProtocolError, 60_000, 1L);
    }

    @Test
    void replyDecoderOnlyYieldsRepliesOrErrors() {
        fuzz(ReplyDecoder::new, REPLIES, o -> o instanceof Reply || o instanceof ProtocolError, 60_000, 2L);
    }

    private static void fuzz(Supplier<ChannelHandler> decoder, String[] valid, java.util.function.Predicate<Object> allowed,
                             int cases, long seed) {
        Random random = new Random(seed);
        long outputs = 0;
        for (int i = 0; i < cases; i++) {
            byte[] input = i % 4 == 0 ? randomBytes(random) : mutate(random, valid);
            EmbeddedChannel ch = new EmbeddedChannel(decoder.get());
            int at = 0;
            while (at < input.length) {
                int n = 1 + random.nextInt(Math.max(1, input.length - at));
                ch.writeInbound(Unpooled.wrappedBuffer(input, at, n));
                at += n;
                Object o;
                while ((o = ch.readInbound()) != null) {
                    assertTrue(allowed.test(o), "unexpected output " + o);
                    outputs++;
                    ReferenceCountUtil.release(o);
                }
            }
            ch.finishAndReleaseAll();
            assertFalse(ch.isOpen() && ch.inboundMessages().size() > 0);
        }
        assertTrue(outputs > cases / 2, "the fuzz produced too few outputs to mean anything: " + outputs);
    }

    private static byte[] randomBytes(Random r) {
        byte[] b = new byte[r.nextInt(200)];
        r.nextBytes(b);
        return b;
    }

    private static byte[] mutate(Random r, String[] valid) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(5);
        for (int i = 0; i < n; i++) {
            sb.append(valid[r.nextInt(valid.length)]);
        }
        byte[] b = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        int mutations = r.nextInt(4);
        for (int m = 0; m < mutations && b.length > 0; m++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(6)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b = java.util.Arrays.copyOf(b, at);
                case 2 -> b[at] = (byte) " \r\n\0-9".charAt(r.nextInt(6));
                case 3 -> {
                    byte[] big = "99999999999999999999".getBytes(StandardCharsets.ISO_8859_1);
                    byte[] c = new byte[b.length + big.length];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(big, 0, c, at, big.length);
                    System.arraycopy(b, at, c, at + big.length, b.length - at);
                    b = c;
                }
                case 4 -> {
                    byte[] c = new byte[b.length * 2];
                    System.arraycopy(b, 0, c, 0, b.length);
                    System.arraycopy(b, 0, c, b.length, b.length);
                    b = c;
                }
                default -> b[at] = (byte) r.nextInt(256);
            }
        }
        return b;
    }
}
