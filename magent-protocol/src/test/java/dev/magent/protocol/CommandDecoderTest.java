package dev.magent.protocol;

import static dev.magent.protocol.Wire.decode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandDecoderTest {
    private static List<String> d(String... pieces) {
        return decode(new CommandDecoder(), pieces);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            get a\\r\\n                                | GET a
            get a b c\\r\\n                            | GET a,b,c
            gets a b\\r\\n                             | GETS a,b
            gat 100 a b\\r\\n                          | GAT exp=100 a,b
            gats -1 a\\r\\n                            | GATS exp=-1 a
            set k 5 100 3\\r\\nabc\\r\\n               | SET k flags=5 exp=100 [abc]
            set k 4294967295 0 0\\r\\n\\r\\n           | SET k flags=4294967295 exp=0 []
            add k 0 0 2 noreply\\r\\nab\\r\\n          | ADD k flags=0 exp=0 noreply [ab]
            replace k 0 -1 1\\r\\nx\\r\\n              | REPLACE k flags=0 exp=-1 [x]
            append k 0 0 1\\r\\nx\\r\\n                | APPEND k flags=0 exp=0 [x]
            prepend k 0 0 1\\r\\nx\\r\\n               | PREPEND k flags=0 exp=0 [x]
            cas k 1 2 3 18446744073709551615\\r\\nabc\\r\\n | CAS k flags=1 exp=2 cas=18446744073709551615 [abc]
            cas k 1 2 3 99 noreply\\r\\nabc\\r\\n      | CAS k flags=1 exp=2 cas=99 noreply [abc]
            incr k 18446744073709551615\\r\\n          | INCR k 18446744073709551615
            decr k 3 noreply\\r\\n                     | DECR k 3 noreply
            delete k\\r\\n                             | DELETE k
            delete k noreply\\r\\n                     | DELETE k noreply
            delete k 0\\r\\n                           | DELETE k
            delete k 0 noreply\\r\\n                   | DELETE k noreply
            touch k 10\\r\\n                           | TOUCH k 10
            touch k 10 noreply\\r\\n                   | TOUCH k 10 noreply
            flush_all\\r\\n                            | FLUSH_ALL
            flush_all 10\\r\\n                         | FLUSH_ALL 10
            flush_all noreply\\r\\n                    | FLUSH_ALL noreply
            flush_all 0 noreply\\r\\n                  | FLUSH_ALL 0 noreply
            version\\r\\n                              | VERSION
            stats\\r\\n                                | STATS
            stats slabs\\r\\n                          | STATS slabs
            stats detail  dump\\r\\n                   | STATS detail dump
            verbosity 1\\r\\n                          | VERBOSITY 1
            verbosity 1 noreply\\r\\n                  | VERBOSITY 1 noreply
            quit\\r\\n                                 | QUIT
            get a\\n                                   | GET a
            get   a    b\\r\\n                         | GET a,b
            """)
    void decodesEveryCommand(String wire, String expected) {
        assertEquals(List.of(expected), d(unescape(wire)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            bogus\\r\\n                                 | ERROR<ERROR>
            \\r\\n                                      | ERROR<ERROR>
            GET a\\r\\n                                 | ERROR<ERROR>
            get\\r\\n                                   | ERROR<ERROR>
            gat 10\\r\\n                                | ERROR<ERROR>
            mg a v\\r\\n                                | ERROR<ERROR>
            version x\\r\\n                             | ERROR<ERROR>
            set k 0 0\\r\\n                             | ERROR<ERROR>
            set k x 0 1\\r\\n                           | ERROR<CLIENT_ERROR bad command line format>
            set k 0 x 1\\r\\n                           | ERROR<CLIENT_ERROR bad command line format>
            set k 0 0 x\\r\\n                           | ERROR<CLIENT_ERROR bad command line format>
            set k 0 0 -1\\r\\n                          | ERROR<CLIENT_ERROR bad command line format>
            set k 4294967296 0 1\\r\\n                  | ERROR<CLIENT_ERROR bad command line format>
            set k 0 0 4294967295\\r\\n                  | ERROR<CLIENT_ERROR bad command line format>
            set k 0 0 1 noreply\\r\\n                   | 
            cas k 0 0 1 x\\r\\n                         | ERROR<CLIENT_ERROR bad command line format>
            incr k x\\r\\n                              | ERROR<CLIENT_ERROR invalid numeric delta argument>
            incr k -1\\r\\n                             | ERROR<CLIENT_ERROR invalid numeric delta argument>
            incr k 18446744073709551616\\r\\n           | ERROR<CLIENT_ERROR invalid numeric delta argument>
            incr k x noreply\\r\\n                      | 
            touch k x\\r\\n                             | ERROR<CLIENT_ERROR invalid exptime argument>
            gat x k\\r\\n                               | ERROR<CLIENT_ERROR invalid exptime argument>
            delete k 5\\r\\n                            | ERROR<CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]>
            flush_all x\\r\\n                           | ERROR<CLIENT_ERROR bad command line format>
            flush_all -1\\r\\n                          | FLUSH_ALL 0
            """)
    void rejectsMalformedCommandsAsMemcachedDoes(String wire, String expected) {
        List<String> want = expected == null ? List.of() : List.of(expected);
        assertEquals(want, d(unescape(wire)));
    }

    @Test
    void keyLimits() {
        String k250 = "k".repeat(250);
        assertEquals(List.of("GET " + k250), d("get " + k250 + "\r\n"));
        assertEquals(List.of("ERROR<CLIENT_ERROR bad command line format>"), d("get " + k250 + "k\r\n"));
        assertEquals(List.of("ERROR<CLIENT_ERROR bad command line format>"), d("get a\u0001b\r\n"));
        assertEquals(List.of("ERROR<CLIENT_ERROR bad command line format>"), d("delete a\u007fb\r\n"));
        // the data line after a rejected set is read as a command, as memcached does
        assertEquals(List.of("ERROR<CLIENT_ERROR bad command line format>", "ERROR<ERROR>"),
                d("set " + k250 + "k 0 0 1\r\nx\r\n"));
    }

    @Test
    void badDataChunkResynchronisesAfterTheDeclaredLength() {
        // memcached 1.6.18 answers exactly this: the block is the 3 declared bytes plus 2 ("de"), which are
        // not CRLF; the "\r\n" left is an empty command line (ERROR); then the get
        assertEquals(List.of("ERROR<CLIENT_ERROR bad data chunk>", "ERROR<ERROR>", "GET k"),
                d("set k 0 0 3\r\nabcde\r\nget k\r\n"));
        // with noreply the error is not answered, as in memcached
        assertEquals(List.of("ERROR<ERROR>"), d("set k 0 0 1 noreply\r\nget k\r\n"));
    }

    @Test
    void tooLargeValuesAreSwallowedAsTheyArrive() {
        ProtocolLimits small = ProtocolLimits.DEFAULT.withMaxValueSize(4);
        assertEquals(List.of("ERROR<SERVER_ERROR object too large for cache>", "GET k"),
                decode(new CommandDecoder(small), "set k 0 0 10\r\n0123", "456789\r", "\nget k\r\n"));
        assertEquals(List.of("GET k"), decode(new CommandDecoder(small), "set k 0 0 10 noreply\r\n0123456789\r\nget k\r\n"));
        // a huge declared length is never allocated: it is skipped as bytes come
        assertEquals(List.of("ERROR<SERVER_ERROR object too large for cache>"),
                d("set k 0 0 2000000000\r\n" + "x".repeat(100_000)));
    }

    @Test
    void overlongLinesCloseTheConnection() {
        assertEquals(List.of("ERROR<CLIENT_ERROR line too long> close"), d("set " + "k".repeat(3000)));
        assertEquals(List.of("ERROR<CLIENT_ERROR line too long> close"), d("bogus " + "x".repeat(3000) + "\r\nget a\r\n"));
        // a long multi-get line is fine, as in memcached
        StringBuilder get = new StringBuilder("get");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            get.append(" key:").append(i);
            keys.add("key:" + i);
        }
        assertEquals(List.of("GET " + String.join(",", keys)), d(get.substring(0, 1000), get.substring(1000) + "\r\n"));
    }

    /** A pipelined batch, fed in two pieces split at every byte, and byte by byte: always the same commands. */
    @Test
    void everySplitPointOfAPipelinedBatch() {
        String batch = "set a 1 0 5\r\nx\r\ny\r\r\nget a b\r\nincr n 1\r\ncas c 0 0 2 7 noreply\r\n\r\n\r\n"
                + "delete a\r\ngat 5 a\r\nbogus\r\ntouch a 1\r\nset b 0 0 3\r\nabcXX\r\nflush_all\r\nversion\r\n"
                + "set big 0 0 2000000\r\n";
        List<String> whole = d(batch);
        assertEquals(13, whole.size(), whole.toString());
        assertEquals("SET a flags=1 exp=0 [x\r\ny\r]", whole.get(0));
        for (int split = 0; split <= batch.length(); split++) {
            assertEquals(whole, d(batch.substring(0, split), batch.substring(split)), "split at " + split);
        }
        String[] bytes = batch.split("");
        assertEquals(whole, d(bytes));
    }

    static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n");
    }
}
