package dev.magent.protocol;

import static dev.magent.protocol.Wire.decode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReplyDecoderTest {
    private static List<String> d(String... pieces) {
        return decode(new ReplyDecoder(), pieces);
    }

    @Test
    void everyReply() {
        assertEquals(List.of("STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED", "OK"),
                d("STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n"));
        assertEquals(List.of("VALUES"), d("END\r\n"));
        assertEquals(List.of("VALUES a/5=x\r\ny b/4294967295/cas18446744073709551614=z"),
                d("VALUE a 5 4\r\nx\r\ny\r\nVALUE b 4294967295 1 18446744073709551614\r\nz\r\nEND\r\n"));
        assertEquals(List.of("NumberReply[value=42]", "NumberReply[value=-1]"), d("42\r\n18446744073709551615\r\n"));
        assertEquals(List.of("VersionReply[version=1.6.18]"), d("VERSION 1.6.18\r\n"));
        assertEquals(List.of("STATS pid=7 version=1.6.18 rusage_user=0.1 2"),
                d("STAT pid 7\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.1 2\r\nEND\r\n"));
        assertEquals(List.of("ErrorReply[kind=ERROR, message=]", "ErrorReply[kind=ERROR, message=Too many open connections]",
                "ErrorReply[kind=CLIENT_ERROR, message=bad data chunk]", "ErrorReply[kind=SERVER_ERROR, message=out of memory]"),
                d("ERROR\r\nERROR Too many open connections\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory\r\n"));
        assertEquals(List.of("META VA [t100, f5] [hi]", "META EN []", "META HD [c5]"), d("VA 2 t100 f5\r\nhi\r\nEN\r\nHD c5\r\n"));
    }

    @Test
    void anErrorInsideAMultiGetEndsIt() {
        assertEquals(List.of("ErrorReply[kind=SERVER_ERROR, message=out of memory]", "STORED"),
                d("VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory\r\nSTORED\r\n"));
    }

    @Test
    void garbageFailsOnceAndTheRestIsDiscarded() {
        assertEquals(List.of("STORED", "ERROR<SERVER_ERROR bad reply from server: unknown reply 'HELLO'> close"),
                d("STORED\r\nHELLO\r\nSTORED\r\n"));
        assertEquals(List.of("ERROR<SERVER_ERROR bad reply from server: value not followed by CRLF> close"),
                d("VALUE a 0 1\r\nxyz\r\nEND\r\n"));
        assertEquals(List.of("ERROR<SERVER_ERROR bad reply from server: unexpected line inside a multi-line reply> close"),
                d("VALUE a 0 1\r\nx\r\nSTORED\r\n"));
        assertEquals(List.of("ERROR<SERVER_ERROR bad reply from server: bad VALUE line> close"), d("VALUE a x 1\r\n"));
    }

    @Test
    void everySplitPoint() {
        String replies = "VALUE a 0 3\r\nx\r\n\r\nVALUE b 1 0 7\r\n\r\nEND\r\nSTORED\r\n12\r\nSTAT a b\r\nEND\r\n"
                + "VA 1 f3\r\nz\r\nEN\r\nVERSION 1.6\r\nSERVER_ERROR oops\r\nEND\r\n";
        List<String> whole = d(replies);
        assertEquals(9, whole.size(), whole.toString());
        for (int split = 0; split <= replies.length(); split++) {
            assertEquals(whole, d(replies.substring(0, split), replies.substring(split)), "split at " + split);
        }
        assertEquals(whole, d(replies.split("")));
    }
}
