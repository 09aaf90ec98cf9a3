package dev.magent.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.magent.core.ServerAddress;
import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A retrieval split over key-affine connections answers as one, in the request's key order. */
class SplitRetrievalTest {
    private static byte[] key(String k) {
        return k.getBytes(StandardCharsets.US_ASCII);
    }

    private static Value value(String k) {
        return new Value(key(k), 0, Unpooled.copiedBuffer(k, StandardCharsets.US_ASCII), Value.NO_CAS);
    }

    private static final class Outcome implements Completion {
        Reply reply;
        Throwable failure;
        int calls;

        @Override
        public void accept(Reply r, Throwable f) {
            reply = r;
            failure = f;
            calls++;
        }
    }

    private static List<String> keys(Reply r) {
        List<String> out = new ArrayList<>();
        for (Value v : ((ValuesReply) r).values()) {
            out.add(new String(v.key(), StandardCharsets.US_ASCII));
        }
        return out;
    }

    @Test
    void hitsComeBackInTheRequestsKeyOrderWhicheverPartAnswersFirst() {
        // keys a b c d e on ways 1 0 1 0 1; c missed
        List<byte[]> keys = List.of(key("a"), key("b"), key("c"), key("d"), key("e"));
        Outcome out = new Outcome();
        SplitRetrieval split = new SplitRetrieval(keys, new int[] {1, 0, 1, 0, 1}, 2, out);
        split.answered(1, new ValuesReply(List.of(value("a"), value("e"))), null);
        assertEquals(0, out.calls);
        split.answered(0, new ValuesReply(List.of(value("b"), value("d"))), null);
        assertEquals(1, out.calls);
        assertEquals(List.of("a", "b", "d", "e"), keys(out.reply));
        ((ValuesReply) out.reply).release();
    }

    @Test
    void theSameKeyTwiceIsAnsweredTwiceAsMemcachedDoes() {
        List<byte[]> keys = List.of(key("a"), key("b"), key("a"));
        Outcome out = new Outcome();
        SplitRetrieval split = new SplitRetrieval(keys, new int[] {0, 1, 0}, 2, out);
        split.answered(0, new ValuesReply(List.of(value("a"), value("a"))), null);
        split.answered(1, ValuesReply.EMPTY, null);
        assertEquals(List.of("a", "a"), keys(out.reply));
        ((ValuesReply) out.reply).release();
    }

    @Test
    void noHitsIsAPlainEnd() {
        Outcome out = new Outcome();
        SplitRetrieval split = new SplitRetrieval(List.of(key("a"), key("b")), new int[] {0, 1}, 2, out);
        split.answered(1, ValuesReply.EMPTY, null);
        split.answered(0, ValuesReply.EMPTY, null);
        assertSame(ValuesReply.EMPTY, out.reply);
    }

    @Test
    void aFailedPartFailsTheWholeAndReleasesTheOthersValues() {
        Outcome out = new Outcome();
        SplitRetrieval split = new SplitRetrieval(List.of(key("a"), key("b")), new int[] {0, 1}, 2, out);
        Value a = value("a");
        ByteBuf data = a.data();
        split.answered(0, new ValuesReply(List.of(a)), null);
        BackendException cause = new BackendException(BackendException.Reason.TIMEOUT,
                new ServerAddress("127.0.0.1", 1), "no reply");
        split.answered(1, null, cause);
        assertEquals(1, out.calls);
        assertNull(out.reply);
        assertSame(cause, out.failure);
        assertEquals(0, data.refCnt());
    }

    @Test
    void anErrorReplyAnswersForTheWholeAndALaterOneIsReleased() {
        Outcome out = new Outcome();
        SplitRetrieval split = new SplitRetrieval(List.of(key("a"), key("b"), key("c")), new int[] {0, 1, 2}, 3,
                out);
        ErrorReply first = ErrorReply.server("out of memory");
        split.answered(2, first, null);
        split.answered(0, ErrorReply.server("second"), null);
        Value b = value("b");
        split.answered(1, new ValuesReply(List.of(b)), null);
        assertSame(first, out.reply);
        assertNull(out.failure);
        assertEquals(0, b.data().refCnt());
    }
}
