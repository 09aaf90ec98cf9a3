package dev.magent.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * One LoadClient connection over an EmbeddedChannel, with a scripted server: the replies it must take as
 * right and the ones it must count as errors, misses or wrong values, with several requests in flight and
 * the replies fed a byte at a time, as they may arrive.
 */
class LoadClientTest {
    private static final String VALUE = value(100);

    private LoadClient.Connection conn;
    private EmbeddedChannel channel;

    /** A connection with depth requests in flight, only gets of 2 keys (or only sets), window open. */
    private List<String> start(int depth, boolean sets) {
        LoadClient client = new LoadClient(new String[] {"--depth", Integer.toString(depth), "--prefill", "0",
            "--keys", "50", "--multiget", "2", "--gets-per-set", sets ? "0" : "1000000000"});
        client.measureFrom = Long.MIN_VALUE;
        client.measureUntil = Long.MAX_VALUE;
        conn = client.new Connection(0, new CountDownLatch(1));
        channel = new EmbeddedChannel(conn);
        return sent();
    }

    /** The requests written since the last call, one string each. */
    private List<String> sent() {
        List<String> requests = new ArrayList<>();
        for (ByteBuf b = channel.readOutbound(); b != null; b = channel.readOutbound()) {
            requests.add(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return requests;
    }

    /** The server's bytes, a byte at a time. */
    private void reply(String text) {
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
    }

    /** Nothing left unread: every reply byte was taken, and the requests sent after them are dropped. */
    private void done() {
        sent();
        assertFalse(channel.finishAndReleaseAll());
    }

    private static String[] keysOf(String get) {
        String[] words = get.trim().split(" ");
        return Arrays.copyOfRange(words, 1, words.length);
    }

    private static String hit(String key, String value) {
        return "VALUE " + key + " 0 " + value.length() + "\r\n" + value + "\r\n";
    }

    private static String value(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append((char) ('a' + i % 26));
        }
        return sb.toString();
    }

    @Test
    void pipelinedGetsAnsweredRightAreCountedWithTheirHitsAndRefilled() {
        List<String> gets = start(3, false);
        assertEquals(3, gets.size());
        StringBuilder replies = new StringBuilder();
        for (String get : gets) {
            String[] keys = keysOf(get);
            replies.append(hit(keys[0], VALUE)).append(hit(keys[1], VALUE)).append("END\r\n");
        }
        reply(replies.toString());
        assertEquals(3, conn.requests);
        assertEquals(6, conn.hits);
        assertEquals(6, conn.keysAsked);
        assertEquals(0, conn.errors);
        assertEquals(0, conn.badValues);
        assertEquals(3, conn.latencyCount);
        assertEquals(3, sent().size(), "one new request for each reply, so that 3 stay in flight");
        done();
    }

    @Test
    void aConnectionThatHasSetItsKeysWaitsForTheOthersBeforeTheLoad() {
        // two connections share the prefill; this one sets both keys while the other has not finished
        LoadClient client = new LoadClient(new String[] {"--keys", "2", "--gets-per-set", "1000000000"});
        client.measureFrom = Long.MIN_VALUE;
        client.measureUntil = Long.MAX_VALUE;
        CountDownLatch prefilled = new CountDownLatch(2);
        conn = client.new Connection(0, prefilled);
        channel = new EmbeddedChannel(conn);
        assertTrue(sent().get(0).startsWith("set "));
        reply("STORED\r\n");
        assertTrue(sent().get(0).startsWith("set "));
        reply("STORED\r\n");
        assertEquals(1, prefilled.getCount());
        assertEquals(List.of(), sent(), "no get while the other connection may still have a set in flight");
        prefilled.countDown(); // the other connection's last set is answered
        conn.startLoad();
        channel.runPendingTasks();
        List<String> gets = sent();
        assertEquals(1, gets.size());
        assertTrue(gets.get(0).startsWith("get "));
        reply("END\r\n");
        done();
    }

    @Test
    void aMissIsAMissNotAnError() {
        List<String> gets = start(2, false);
        reply(hit(keysOf(gets.get(0))[1], VALUE) + "END\r\n" + "END\r\n");
        assertEquals(2, conn.requests);
        assertEquals(1, conn.hits);
        assertEquals(4, conn.keysAsked);
        assertEquals(0, conn.errors);
        done();
    }

    @Test
    void aWrongByteInAValueIsAnErrorAndABadValue() {
        List<String> gets = start(2, false);
        String[] first = keysOf(gets.get(0));
        String[] second = keysOf(gets.get(1));
        String wrong = VALUE.substring(0, 99) + "z";
        reply(hit(first[0], VALUE) + hit(first[1], wrong) + "END\r\n"
                + hit(second[0], VALUE) + hit(second[1], VALUE) + "END\r\n");
        assertEquals(2, conn.requests);
        assertEquals(1, conn.errors);
        assertEquals(1, conn.badValues);
        done();
    }

    @Test
    void anotherRequestsKeyOrKeysOutOfOrderAreBadValues() {
        List<String> gets = start(2, false);
        String[] first = keysOf(gets.get(0));
        String[] second = keysOf(gets.get(1));
        // the first request answered with its keys swapped, the second with the first's key
        reply(hit(first[1], VALUE) + hit(first[0], VALUE) + "END\r\n" + hit(first[0], VALUE) + "END\r\n");
        assertEquals(2, conn.requests);
        assertEquals(2, conn.errors);
        assertEquals(2, conn.badValues);
        done();
    }

    @Test
    void aWrongLengthOrFlagsOrAMissingCrlfAreBadValues() {
        List<String> gets = start(3, false);
        String[] a = keysOf(gets.get(0));
        String[] b = keysOf(gets.get(1));
        String[] c = keysOf(gets.get(2));
        reply("VALUE " + a[0] + " 0 3\r\nabc\r\nEND\r\n"
                + "VALUE " + b[0] + " 7 100\r\n" + VALUE + "\r\nEND\r\n"
                + "VALUE " + c[0] + " 0 100\r\n" + VALUE + "xxEND\r\n");
        assertEquals(3, conn.requests);
        assertEquals(3, conn.badValues);
        assertEquals(3, conn.errors);
        done();
    }

    @Test
    void serverErrorsAreErrorsAndTheStreamStaysInStep() {
        List<String> sets = start(3, true);
        assertTrue(sets.get(0).startsWith("set "), sets.get(0));
        reply("STORED\r\nSERVER_ERROR out of memory storing object\r\nSTORED\r\n");
        assertEquals(3, conn.requests);
        assertEquals(1, conn.errors);
        assertEquals(0, conn.badValues);
        assertEquals(0, conn.keysAsked);
        done();
    }
}
