package dev.magent.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Bounded randomized decoding with fixed seeds: random bytes, and valid traffic mutated by bit flips,
 * truncations, insertions, deletions and duplications. Both decoders must only ever yield model objects or
 * protocol errors (nothing after an error that closes), never throw, and release everything: each input is
 * an untracked buffer whose reference count must be back to zero, and one case in ten is fed in pieces of
 * leak-tracked pooled buffers (LeakGuard checks those).
 */
class FuzzTest {
    private static final int CASES_PER_DECODER = 60_000;

    private static final String[] REQUESTS = {"get a b c\r\n", "gets k\r\n", "gat 10 k\r\n", "gats 0 a b\r\n",
        "set k 1 2 3\r\nabc\r\n", "add k 0 0 1 noreply\r\nx\r\n", "cas k 0 0 2 99\r\nab\r\n", "replace k 0 0 2\r\n\r\n\r\n",
        "prepend k 5 -1 4\r\na\r\nb\r\n", "incr k 5\r\n", "decr k 1 noreply\r\n", "delete k\r\n", "delete k 0 noreply\r\n",
        "touch k 5\r\n", "flush_all 1\r\n", "flush_all noreply\r\n", "version\r\n", "stats\r\n", "stats detail dump\r\n",
        "verbosity 1\r\n", "quit\r\n", "append k 0 0 4\r\n\r\n\r\n\r\n", "set big 0 0 70\r\n", "get\n", "magent reload\r\n",
        "mg k v f t q O1\r\n", "ms k 2 T0 F5 b\r\nhi\r\n", "ms big 70 MA\r\n", "md YWJj b q I T3\r\n", "ma k N0 J1 D2 MD\r\n",
        "mn\r\n", "me k b\r\n"};
    private static final String[] REPLIES = {"VALUE a 0 1\r\nx\r\nEND\r\n", "VALUE b 5 2 77\r\nyy\r\nEND\r\n", "END\r\n",
        "VALUE a 0 2\r\n\r\n\r\nVALUE c 1 0\r\n\r\nEND\r\n", "STORED\r\n", "NOT_STORED\r\n", "EXISTS\r\n", "NOT_FOUND\r\n",
        "DELETED\r\n", "TOUCHED\r\n", "OK\r\n", "42\r\n", "VERSION 1.6\r\n", "STAT a 1\r\nSTAT b c d\r\nEND\r\n", "ERROR\r\n",
        "CLIENT_ERROR bad data chunk\r\n", "SERVER_ERROR x\r\n", "VA 2 f1 t-1\r\nab\r\n", "EN\r\n", "HD c1\r\n", "NF\r\n",
        "MN\r\n", "VALUE big 0 70\r\n", "ME k exp=-1 la=0 cas=4 fetch=no cls=1 size=62\r\n"};
    private static final String[] INSERTS = {" ", "\r\n", "\n", "\r", "\0", "noreply", "-1", "0", "18446744073709551616",
        "4294967296", "2147483648", "99999999999999999999", "END\r\n", "VALUE ", "get ", "set k 0 0 ", "\t", "\u00ff"};

    /** Small limits half of the time, so that the too-large and too-long paths are taken often. */
    private static final ProtocolLimits SMALL = new ProtocolLimits(8, 64, 96, 16);

    @Test
    void commandDecoderOnlyYieldsCommandsOrErrors() {
        fuzz(limits -> new CommandDecoder(limits, "magent"), REQUESTS, o -> o instanceof Command, 1L);
    }

    @Test
    void replyDecoderOnlyYieldsRepliesOrErrors() {
        fuzz(ReplyDecoder::new, REPLIES, o -> o instanceof Reply, 2L);
    }

    private static void fuzz(Function<ProtocolLimits, ChannelHandler> decoder, String[] valid, Predicate<Object> model,
                             long seed) {
        Random random = new Random(seed);
        Tally tally = new Tally();
        for (int i = 0; i < CASES_PER_DECODER; i++) {
            byte[] input = i % 4 == 0 ? randomBytes(random) : mutate(random, valid);
            ProtocolLimits limits = random.nextBoolean() ? SMALL : ProtocolLimits.DEFAULT;
            EmbeddedChannel ch = new EmbeddedChannel(decoder.apply(limits));
            tally.closed = false;
            ByteBuf whole = null;
            try {
                if (i % 10 == 0) {
                    // pieces of tracked pooled buffers: exercises cumulation, slices across reads, leak detection
                    int at = 0;
                    while (at < input.length) {
                        int n = 1 + random.nextInt(Math.max(1, Math.min(input.length - at, 40)));
                        ch.writeInbound(PooledByteBufAllocator.DEFAULT.buffer(n).writeBytes(input, at, n));
                        at += n;
                        drain(ch, model, tally);
                    }
                } else {
                    whole = Unpooled.wrappedBuffer(input);
                    ch.writeInbound(whole);
                    drain(ch, model, tally);
                }
                ch.finish();
                drain(ch, model, tally);
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError("input " + i + ": " + printable(input), e);
            }
            assertFalse(ch.finishAndReleaseAll(), "left behind for input " + printable(input));
            if (whole != null && input.length > 0) { // an empty wrap is the unreleasable EMPTY_BUFFER
                assertEquals(0, whole.refCnt(), "not released for input " + printable(input));
            }
        }
        // the mutations must reach both the happy paths and the error paths to mean anything
        assertTrue(tally.messages > CASES_PER_DECODER / 2, "too few messages: " + tally.messages);
        assertTrue(tally.errors > CASES_PER_DECODER / 4, "too few protocol errors: " + tally.errors);
    }

    /** What came out of the decoders. */
    private static final class Tally {
        long messages;
        long errors;
        /** Whether the current input produced an error that closes the connection. */
        boolean closed;
    }

    /** Reads and releases every output. */
    private static void drain(EmbeddedChannel ch, Predicate<Object> model, Tally tally) {
        Object o;
        while ((o = ch.readInbound()) != null) {
            try {
                if (tally.closed) {
                    fail("output after an error that closes the connection: " + o);
                }
                if (o instanceof ProtocolError error) {
                    tally.closed = error.closeConnection();
                    tally.errors++;
                } else if (model.test(o)) {
                    Harness.describe(o); // reads every field and data block
                    tally.messages++;
                } else {
                    fail("neither a model object nor a protocol error: " + o);
                }
            } finally {
                ReferenceCountUtil.release(o);
            }
        }
    }

    private static final String TEXTISH = " \r\n0123456789abcdefghijklmnopqrstuvwxyzENDVALUESTAT-";

    private static byte[] randomBytes(Random r) {
        byte[] b = new byte[r.nextInt(300)];
        r.nextBytes(b);
        if (r.nextBoolean()) {
            // mostly printable with line ends, closer to text than pure noise
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) TEXTISH.charAt(Math.floorMod(b[i], TEXTISH.length()));
            }
        }
        return b;
    }

    private static byte[] mutate(Random r, String[] valid) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(6);
        for (int i = 0; i < n; i++) {
            sb.append(valid[r.nextInt(valid.length)]);
            if (sb.toString().endsWith(" 70\r\n")) {
                sb.append("z".repeat(70)).append("\r\n"); // a value above the small limits
            }
        }
        byte[] b = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        int mutations = r.nextInt(5);
        for (int m = 0; m < mutations && b.length > 0; m++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(6)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8)); // bit flip
                case 1 -> b = Arrays.copyOf(b, at); // truncation
                case 2 -> b = insert(b, at, INSERTS[r.nextInt(INSERTS.length)].getBytes(StandardCharsets.ISO_8859_1));
                case 3 -> { // duplication of a range
                    int length = 1 + r.nextInt(b.length - at);
                    b = insert(b, at, Arrays.copyOfRange(b, at, at + length));
                }
                case 4 -> { // deletion of a range
                    int length = 1 + r.nextInt(Math.min(8, b.length - at));
                    byte[] c = new byte[b.length - length];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + length, c, at, b.length - at - length);
                    b = c;
                }
                default -> b[at] = (byte) r.nextInt(256); // random byte
            }
        }
        return b;
    }

    private static byte[] insert(byte[] b, int at, byte[] extra) {
        byte[] c = new byte[b.length + extra.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(extra, 0, c, at, extra.length);
        System.arraycopy(b, at, c, at + extra.length, b.length - at);
        return c;
    }

    private static String printable(byte[] input) {
        StringBuilder sb = new StringBuilder();
        for (byte b : input) {
            int c = b & 0xFF;
            sb.append(c == '\r' ? "\\r" : c == '\n' ? "\\n" : c >= 0x20 && c < 0x7F ? String.valueOf((char) c)
                    : String.format("\\x%02x", c));
        }
        return sb.toString();
    }
}
