package dev.magent.protocol;

import static dev.magent.protocol.Harness.decode;
import static dev.magent.protocol.Harness.describe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The client-side decoder; reply bytes as memcached 1.6.18 sends them. */
class ReplyDecoderTest {
    private static List<String> d(String... pieces) {
        return decode(ReplyDecoder::new, pieces);
    }

    @Test
    void adminAnswersAndDetailDump() {
        // as memcached 1.6.18 answers stats reset, slabs reassign, cache_memlimit, lru_crawler and lru
        assertEquals(List.of("TEXT RESET|", "TEXT NOSPARE source class has no spare pages|",
                        "TEXT SAME src and dst class are identical|", "TEXT BUSY currently processing reassign request|",
                        "TEXT BADCLASS invalid class id|", "TEXT NOTSTARTED no items to crawl|",
                        "TEXT MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m|",
                        "TEXT MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes|",
                        "reply ERROR hot and warm pcts must not exceed 80"),
                d("RESET\r\nNOSPARE source class has no spare pages\r\nSAME src and dst class are identical\r\n"
                        + "BUSY currently processing reassign request\r\nBADCLASS invalid class id\r\n"
                        + "NOTSTARTED no items to crawl\r\nMEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
                        + "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"
                        + "ERROR hot and warm pcts must not exceed 80\r\n"));
        assertEquals(List.of("TEXT PREFIX foo get 1 hit 1 set 1 del 1|PREFIX bar get 1 hit 0 set 0 del 0|END|", "OK"),
                d("PREFIX foo get 1 hit 1 set 1 del 1\r\nPREFIX bar get 1 hit 0 set 0 del 0\r\n", "END\r\nOK\r\n"));
        // an empty dump is a bare END, as an empty get
        assertEquals(List.of("VALUES"), d("END\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: unexpected line inside a PREFIX reply: 'OK'> close"),
                d("PREFIX foo get 1 hit 1 set 1 del 1\r\nOK\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: STAT line inside a PREFIX reply: 'STAT a b'> close"),
                d("PREFIX foo get 1 hit 1 set 1 del 1\r\nSTAT a b\r\nEND\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: VALUE line inside a PREFIX reply: 'VALUE a 0 1'> close"),
                d("PREFIX foo get 1 hit 1 set 1 del 1\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));
    }

    @Test
    void everyReply() {
        assertEquals(List.of("STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED", "OK"),
                d("STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n"));
        assertEquals(List.of("VALUES"), d("END\r\n"));
        assertEquals(List.of("VALUES k/0=[hello]"), d("VALUE k 0 5\r\nhello\r\nEND\r\n"));
        assertEquals(List.of("VALUES a/5=[x\r\ny] b/4294967295/cas=18446744073709551614=[z]"),
                d("VALUE a 5 4\r\nx\r\ny\r\nVALUE b 4294967295 1 18446744073709551614\r\nz\r\nEND\r\n"));
        assertEquals(List.of("VALUES m1/1/cas=15=[a] m1/1/cas=15=[a]"),
                d("VALUE m1 1 1 15\r\na\r\nVALUE m1 1 1 15\r\na\r\nEND\r\n"));
        assertEquals(List.of("VALUES kz/0=[]"), d("VALUE kz 0 0\r\n\r\nEND\r\n"));
        assertEquals(List.of("NUMBER 42", "NUMBER 18446744073709551615", "NUMBER 0"),
                d("42\r\n18446744073709551615\r\n0\r\n"));
        assertEquals(List.of("VERSION 1.6.18"), d("VERSION 1.6.18\r\n"));
        assertEquals(List.of("STATS pid=<7> version=<1.6.18> rusage_user=<0.1 2> empty=<>"),
                d("STAT pid 7\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.1 2\r\nSTAT empty\r\nEND\r\n"));
        assertEquals(List.of("reply ERROR", "reply ERROR Too many open connections",
                        "reply CLIENT_ERROR bad data chunk", "reply SERVER_ERROR out of memory", "reply CLIENT_ERROR"),
                d("ERROR\r\nERROR Too many open connections\r\nCLIENT_ERROR bad data chunk\r\n"
                        + "SERVER_ERROR out of memory\r\nCLIENT_ERROR\r\n"));
        assertEquals(List.of("META VA [f5, t-1, s2, c33, kmh] [hi]", "META HD []", "META EN []", "META NF []",
                        "META NS []", "META EX []", "META MN []", "META HD [c5, Oabc]", "META VA [] []"),
                d("VA 2 f5 t-1 s2 c33 kmh\r\nhi\r\nHD\r\nEN\r\nNF\r\nNS\r\nEX\r\nMN\r\nHD c5 Oabc\r\nVA 0\r\n\r\n"));
        // bare LF line endings are accepted too
        assertEquals(List.of("STORED", "VALUES k/0=[v]"), d("STORED\nVALUE k 0 1\nv\r\nEND\n"));
    }

    @Test
    void anErrorInsideAMultiLineReplyEndsIt() {
        // memcached drops what it had and sends the error, e.g. when out of memory mid multi-get
        assertEquals(List.of("reply SERVER_ERROR out of memory writing get response", "STORED"),
                d("VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\nSTORED\r\n"));
        assertEquals(List.of("reply SERVER_ERROR out of memory writing stats", "VALUES"),
                d("STAT a 1\r\nSERVER_ERROR out of memory writing stats\r\nEND\r\n"));
    }

    @Test
    void garbageFailsOnceAndTheRestIsDiscarded() {
        assertEquals(List.of("STORED", "ERR<SERVER_ERROR unparsable reply: unknown reply: 'HELLO'> close"),
                d("STORED\r\nHELLO\r\nSTORED\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: data block of 1 bytes not followed by CRLF> close"),
                d("VALUE a 0 1\r\nxyz\r\nEND\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: unexpected line inside a VALUE reply: 'STORED'> close"),
                d("VALUE a 0 1\r\nx\r\nSTORED\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: VALUE line with bad flags: 'VALUE a x 1'> close"),
                d("VALUE a x 1\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: STAT line inside a VALUE reply: 'STAT a b'> close"),
                d("VALUE a 0 1\r\nx\r\nSTAT a b\r\nEND\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: VALUE line inside a STAT reply: 'VALUE a 0 1'> close"),
                d("STAT a b\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: not an unsigned 64-bit number: '18446744073709551616'> close"),
                d("18446744073709551616\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: empty reply line: ''> close"), d("\r\nSTORED\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: unknown reply: 'RESETS'> close"), d("RESETS\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: unknown reply: 'XX 1'> close"), d("XX 1\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: VA line with bad size: 'VA x'> close"), d("VA x\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: unknown reply: 'a?b'> close"), d("a\u0000b\r\n"));
        // a CR inside an error line (possible with bare LF endings) does not break the one-line message
        assertEquals(List.of("reply SERVER_ERROR a b"), d("SERVER_ERROR a\rb\n"));
    }

    @Test
    void limitsComeFromTheProtocolLimits() {
        ProtocolLimits limits = new ProtocolLimits(50, 100, 100, 10);
        assertEquals(List.of("VALUES a/0=[0123456789]"),
                decode(() -> new ReplyDecoder(limits), "VALUE a 0 10\r\n0123456789\r\nEND\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: VALUE of 11 bytes, above the limit of 10: 'VALUE a 0 11'> close"),
                decode(() -> new ReplyDecoder(limits), "VALUE a 0 11\r\n01234567890\r\nEND\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: VA of 11 bytes, above the limit of 10: 'VA 11'> close"),
                decode(() -> new ReplyDecoder(limits), "VA 11\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: reply line longer than 100 bytes> close"),
                decode(() -> new ReplyDecoder(limits), "STAT " + "x".repeat(100)));
        assertEquals(List.of("ERR<SERVER_ERROR unparsable reply: reply line longer than 100 bytes> close"),
                decode(() -> new ReplyDecoder(limits), "STAT " + "x".repeat(100) + "\r\nEND\r\n"));
        assertEquals(List.of("STATS x=<" + "y".repeat(93) + ">"),
                decode(() -> new ReplyDecoder(limits), "STAT x " + "y".repeat(93) + "\r", "\nEND\r\n"));
    }

    @Test
    void partialRepliesAreReleasedAtEndOfInputAndOnRemoval() {
        assertEquals(List.of(), d("VALUE a 0 1\r\nx\r\nVALUE b 0 2\r\nyy\r\nVALUE c 0 3\r\nz"));
        assertEquals(List.of(), d("VA 3 f1\r\nab"));
        assertEquals(List.of(), d("STAT a b\r\n"));

        EmbeddedChannel ch = new EmbeddedChannel(new ReplyDecoder());
        ByteBuf input = Harness.unpooled("VALUE a 0 1\r\nx\r\nVALUE b 0 2\r\nyy\r\nVAL");
        ch.writeInbound(input);
        assertNull(ch.readInbound());
        ch.pipeline().removeFirst();
        ByteBuf rest = ch.readInbound();
        assertEquals("VAL", Harness.text(rest));
        rest.release();
        assertEquals(0, input.refCnt(), "the values gathered so far were released");
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void dataIsASliceOfTheInput() {
        EmbeddedChannel ch = new EmbeddedChannel(new ReplyDecoder());
        ByteBuf input = Harness.unpooled("VALUE a 0 5\r\nhello\r\nEND\r\n");
        ch.writeInbound(input);
        ValuesReply reply = ch.readInbound();
        input.setByte(13, 'j');
        assertEquals("VALUES a/0=[jello]", describe(reply));
        ReferenceCountUtil.release(reply);
        assertEquals(0, input.refCnt());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void theClientCodecEncodesCommandsAndDecodesReplies() {
        EmbeddedChannel ch = new EmbeddedChannel(new MemcacheClientCodec());
        ch.writeOutbound(RetrievalCommand.gets(Harness.k("a")), new MetaGetCommand(Harness.k("a"), List.of("v", "t")));
        StringBuilder written = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            written.append(Harness.text(b));
            b.release();
        }
        assertEquals("gets a\r\nmg a v t\r\n", written.toString());
        ch.writeInbound(Harness.bytes("VALUE a 3 1 9\r\nx\r\nEND\r\nVA 1 t-1\r\nx\r\n"));
        Object values = ch.readInbound();
        Object meta = ch.readInbound();
        assertEquals("VALUES a/3/cas=9=[x]", describe(values));
        assertEquals("META VA [t-1] [x]", describe(meta));
        assertTrue(meta instanceof MetaReply m && m.hit() && "-1".equals(m.flag('t')));
        ReferenceCountUtil.release(values);
        ReferenceCountUtil.release(meta);
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void everySplitPoint() {
        String replies = "VALUE a 0 3\r\nx\r\n\r\nVALUE b 1 0 7\r\n\r\nEND\r\nSTORED\r\n12\r\nSTAT a b c\r\nEND\r\n"
                + "VA 1 f3\r\nz\r\nEN\r\nVERSION 1.6\r\nSERVER_ERROR oops\r\nEND\r\nVALUE c 0 1\r\n\n\r\n"
                + "CLIENT_ERROR bad data chunk\r\nVALUE d 0 2\r\n12\r\nEND\r\nDELETED\r\n";
        List<String> whole = d(replies);
        assertEquals(List.of("VALUES a/0=[x\r\n] b/1/cas=7=[]", "STORED", "NUMBER 12", "STATS a=<b c>", "META VA [f3] [z]",
                "META EN []", "VERSION 1.6", "reply SERVER_ERROR oops", "VALUES", "reply CLIENT_ERROR bad data chunk",
                "VALUES d/0=[12]", "DELETED"), whole);
        for (int split = 0; split <= replies.length(); split++) {
            assertEquals(whole, d(replies.substring(0, split), replies.substring(split)), "split at " + split);
        }
        assertEquals(whole, d(replies.split("")));
    }
}
