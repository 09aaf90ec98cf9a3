package dev.magent.protocol;

import static dev.magent.protocol.Harness.decode;
import static dev.magent.protocol.Harness.describe;
import static dev.magent.protocol.Harness.unescape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The server-side decoder. The error tables were checked against memcached 1.6.18 (the replies memcached
 * sent for the same bytes are in the comments and in docs/protocol.md).
 */
class CommandDecoderTest {
    private static List<String> d(String... pieces) {
        return decode(CommandDecoder::new, pieces);
    }

    private static List<String> expected(String joined) {
        return joined == null ? List.of() : Arrays.asList(joined.split(" ; "));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            get a\\r\\n                                       | GET a
            get a b c\\r\\n                                   | GET a,b,c
            gets a b\\r\\n                                    | GETS a,b
            gat 100 a b\\r\\n                                 | GAT exp=100 a,b
            gats -1 a\\r\\n                                   | GATS exp=-1 a
            gat 0 a\\r\\n                                     | GAT exp=0 a
            set k 5 100 3\\r\\nabc\\r\\n                      | SET k flags=5 exp=100 [abc]
            set k 4294967295 0 0\\r\\n\\r\\n                  | SET k flags=4294967295 exp=0 []
            set k 0 -1 1\\r\\nx\\r\\n                         | SET k flags=0 exp=-1 [x]
            set k 0 2592001 1\\r\\nx\\r\\n                    | SET k flags=0 exp=2592001 [x]
            add k 0 0 2 noreply\\r\\nab\\r\\n                 | ADD k flags=0 exp=0 noreply [ab]
            replace k 0 -1 1\\r\\nx\\r\\n                     | REPLACE k flags=0 exp=-1 [x]
            append k 0 0 1\\r\\nx\\r\\n                       | APPEND k flags=0 exp=0 [x]
            prepend k 0 0 1\\r\\nx\\r\\n                      | PREPEND k flags=0 exp=0 [x]
            cas k 1 2 3 18446744073709551615\\r\\nabc\\r\\n   | CAS k flags=1 exp=2 cas=18446744073709551615 [abc]
            cas k 1 2 3 99 noreply\\r\\nabc\\r\\n             | CAS k flags=1 exp=2 cas=99 noreply [abc]
            incr k 18446744073709551615\\r\\n                 | INCR k 18446744073709551615
            incr k 1\\r\\n                                    | INCR k 1
            decr k 3 noreply\\r\\n                            | DECR k 3 noreply
            delete k\\r\\n                                    | DELETE k
            delete k noreply\\r\\n                            | DELETE k noreply
            delete k 0\\r\\n                                  | DELETE k
            delete k 0 noreply\\r\\n                          | DELETE k noreply
            touch k 10\\r\\n                                  | TOUCH k 10
            touch k -1 noreply\\r\\n                          | TOUCH k -1 noreply
            flush_all\\r\\n                                   | FLUSH_ALL
            flush_all 10\\r\\n                                | FLUSH_ALL 10
            flush_all noreply\\r\\n                           | FLUSH_ALL noreply
            flush_all 0 noreply\\r\\n                         | FLUSH_ALL 0 noreply
            version\\r\\n                                     | VERSION
            stats\\r\\n                                       | STATS
            stats slabs\\r\\n                                 | STATS <slabs>
            stats detail  dump\\r\\n                          | STATS <detail dump>
            stats cachedump 1 2\\r\\n                         | STATS <cachedump 1 2>
            verbosity 1\\r\\n                                 | VERBOSITY 1
            verbosity 1 noreply\\r\\n                         | VERBOSITY 1 noreply
            quit\\r\\n                                        | QUIT
            get a\\n                                          | GET a
            set k 0 0 1\\nx\\r\\n                             | SET k flags=0 exp=0 [x]
            get   a    b \\r\\n                               | GET a,b
            '   get a\\r\\n'                                  | GET a
            """)
    void decodesEveryCommand(String wire, String expected) {
        assertEquals(List.of(expected), d(unescape(wire)));
    }

    /** Each input is followed in the comment by what memcached 1.6.18 answered to the same bytes. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "NOTHING", textBlock = """
            foo bar\\r\\n                                     | ERR<ERROR>
            GET k\\r\\n                                       | ERR<ERROR>
            \\r\\n                                            | ERR<ERROR>
            \\n                                               | ERR<ERROR>
            '   \\r\\n'                                       | ERR<ERROR>
            g\\r\\n                                           | ERR<ERROR>
            bget k\\r\\n                                      | ERR<ERROR>
            set k 0 0\\r\\n                                   | ERR<ERROR>
            set k 0 0 5 noreply x\\r\\nhello\\r\\n            | ERR<ERROR> ; ERR<ERROR>
            set k 0 0 5 foo\\r\\nhello\\r\\n                  | SET k flags=0 exp=0 [hello]
            set k 0x 0 5\\r\\nhello\\r\\n                     | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k -1 0 5\\r\\nhello\\r\\n                     | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k +5 0 5\\r\\nhello\\r\\n                     | SET k flags=5 exp=0 [hello]
            set k 0 x 5\\r\\nhello\\r\\n                      | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 x\\r\\nhello\\r\\n                      | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 -1\\r\\nhello\\r\\n                     | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 5x\\r\\nhello\\r\\n                     | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 2147483648\\r\\nhello\\r\\n             | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 2147483647\\r\\nhello\\r\\n             | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 noreply\\r\\nhello\\r\\n                | ERR<ERROR>
            set k x 0 5 noreply\\r\\nhello\\r\\n              | ERR<ERROR>
            set k 0 0 5 noreply noreply\\r\\nhello\\r\\n      | ERR<ERROR> ; ERR<ERROR>
            cas k 0 0 5 x\\r\\nhello\\r\\n                    | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            cas k 0 0 5 -1\\r\\nhello\\r\\n                   | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            cas k 0 0 5 noreply\\r\\nhello\\r\\n              | ERR<ERROR>
            cas k 0 0 5\\r\\nhello\\r\\n                      | ERR<ERROR> ; ERR<ERROR>
            get\\r\\n                                         | ERR<ERROR>
            'get \\r\\n'                                      | ERR<ERROR>
            get k noreply\\r\\n                               | GET k,noreply
            gat\\r\\n                                         | ERR<ERROR>
            gat x k\\r\\n                                     | ERR<CLIENT_ERROR invalid exptime argument>
            gat 10 k noreply\\r\\n                            | GAT exp=10 k,noreply
            incr n -1\\r\\n                                   | ERR<CLIENT_ERROR invalid numeric delta argument>
            incr n abc\\r\\n                                  | ERR<CLIENT_ERROR invalid numeric delta argument>
            incr n 18446744073709551616\\r\\n                 | ERR<CLIENT_ERROR invalid numeric delta argument>
            incr n +5\\r\\n                                   | INCR n 5
            incr n abc noreply\\r\\n                          | NOTHING
            incr n noreply\\r\\n                              | NOTHING
            incr n\\r\\n                                      | ERR<ERROR>
            incr n 1 noreply x\\r\\n                          | ERR<ERROR>
            incr n 1 x\\r\\n                                  | INCR n 1
            decr n x\\r\\n                                    | ERR<CLIENT_ERROR invalid numeric delta argument>
            touch n x\\r\\n                                   | ERR<CLIENT_ERROR invalid exptime argument>
            touch n x noreply\\r\\n                           | NOTHING
            touch n\\r\\n                                     | ERR<ERROR>
            touch n 10 x\\r\\n                                | TOUCH n 10
            delete n 5\\r\\n                                  | ERR<CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]>
            delete n 5 noreply\\r\\n                          | NOTHING
            delete n 0 noreply x\\r\\n                        | ERR<ERROR>
            delete\\r\\n                                      | ERR<ERROR>
            flush_all -1\\r\\n                                | FLUSH_ALL 0
            flush_all x\\r\\n                                 | ERR<CLIENT_ERROR invalid exptime argument>
            flush_all x noreply\\r\\n                         | NOTHING
            flush_all 10 x\\r\\n                              | FLUSH_ALL 10
            flush_all 1 2 3\\r\\n                             | ERR<ERROR>
            verbosity\\r\\n                                   | ERR<ERROR>
            verbosity x\\r\\n                                 | ERR<CLIENT_ERROR bad command line format>
            verbosity noreply\\r\\n                           | NOTHING
            verbosity 1 x\\r\\n                               | VERBOSITY 1
            verbosity 1 2 3\\r\\n                             | ERR<ERROR>
            verbosity 5\\r\\n                                 | VERBOSITY 5
            version foo bar\\r\\n                             | VERSION
            quit now\\r\\n                                    | QUIT
            stats foo\\r\\n                                   | STATS <foo>
            GET / HTTP/1.1\\r\\nget k\\r\\n                   | ERR<ERROR> close silent
            POST /x HTTP/1.0\\r\\n                            | ERR<ERROR> close silent
            get / http/1.1\\r\\n                              | GET /,http/1.1
            """)
    void answersMalformedCommandsAsMemcachedDoes(String wire, String expected) {
        // memcached: foo bar -> ERROR; set k 0 0 5 foo -> STORED (the extra token is ignored); set k -1 .. ->
        // CLIENT_ERROR bad command line format then ERROR for the data line, read as a command; set k 0 0
        // noreply -> the error is not sent (noreply is the last token), only ERROR for "hello"; incr n -1 ->
        // CLIENT_ERROR invalid numeric delta argument; GET / HTTP/1.1 -> connection closed, nothing sent
        assertEquals(expected(expected), d(unescape(wire)));
    }

    /**
     * Where magent deliberately differs from memcached 1.6.18, which answers these with success (it truncates
     * numbers beyond the field's width, and answers a gat without keys with END). See docs/protocol.md.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            set k 4294967296 0 5\\r\\nhello\\r\\n            | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 2147483648 5\\r\\nhello\\r\\n            | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            set k 0 0 4294967301\\r\\nhello\\r\\n            | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            flush_all 2147483648\\r\\n                       | ERR<CLIENT_ERROR invalid exptime argument>
            gat 10\\r\\n                                     | ERR<ERROR>
            set k 0 0 5\\t\\r\\nhello\\r\\n                  | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            """)
    void deviationsFromMemcached(String wire, String expected) {
        assertEquals(expected(expected), d(unescape(wire).replace("\\t", "\t")));
    }

    @Test
    void keys() {
        String k250 = "k".repeat(250);
        String k251 = k250 + "k";
        assertEquals(List.of("GET " + k250), d("get " + k250 + "\r\n"));
        assertEquals(List.of("SET " + k250 + " flags=0 exp=0 [x]"), d("set " + k250 + " 0 0 1\r\nx\r\n"));
        // memcached: CLIENT_ERROR bad command line format, whichever key of a multi-get is too long
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>"), d("get " + k251 + "\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>"), d("get k " + k251 + " j\r\n"));
        // memcached reads the data line after a rejected set as a command
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>", "ERR<ERROR>"),
                d("set " + k251 + " 0 0 1\r\nx\r\n"));
        // ... and with noreply sends only the ERROR for the data line
        assertEquals(List.of("ERR<ERROR>"), d("set " + k251 + " 0 0 1 noreply\r\nx\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>"), d("incr " + k251 + " 1\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>"), d("delete " + k251 + "\r\n"));
        assertEquals(List.of(), d("delete " + k251 + " noreply\r\n"));
        assertEquals(List.of(), d("touch " + k251 + " 10 noreply\r\n"));
        // every byte but space and LF is a key byte, as in memcached: control characters, CR, DEL, 0x80-0xFF
        for (int b = 1; b < 256; b++) {
            if (b == ' ' || b == '\n') {
                continue;
            }
            String key = "a" + (char) b + "b";
            assertEquals(List.of("GET " + key), d("get " + key + "\r\n"), "byte " + b);
            assertEquals(List.of("SET " + key + " flags=0 exp=0 [x]"), d("set " + key + " 0 0 1\r\nx\r\n"), "byte " + b);
            assertEquals(List.of("DELETE " + key), d("delete " + key + "\r\n"), "byte " + b);
        }
        assertEquals(List.of("GET \u0001"), d("get \u0001\r\n"));
        // memcached drops one CR before the LF: a key may end in a CR when the line has two
        assertEquals(List.of("GET a\r"), d("get a\r\r\n"));
        // bytes above ASCII are fine: keys are bytes
        assertEquals(List.of("GET caf\u00c3\u00a9"), d("get caf\u00c3\u00a9\r\n"));
    }

    @Test
    void aNulEndsTheLineAsInMemcached() {
        // memcached reads a line as a C string: what follows a NUL is not seen (recorded from 1.6.18)
        assertEquals(List.of("GET a"), d("get a\u0000zz\r\n"));
        assertEquals(List.of("GET a"), d("get a\u0000 b\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("get \u0000abc\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("\u0000get a\r\n"));
        // "set a" has too few words: ERROR, and the data line is a command of its own
        assertEquals(List.of("ERR<ERROR>", "ERR<ERROR>"), d("set a\u0000b 0 0 1\r\nx\r\n"));
        // the noreply after the NUL is not seen either: the set waits for its data and answers
        assertEquals(List.of("SET b flags=0 exp=0 [z]"), d("set b 0 0 1\u0000 noreply\r\nz\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("incr a\u0000b 1\r\n"));
        assertEquals(List.of("DELETE a"), d("delete a\u0000 noreply\r\n"));
    }

    @Test
    void serverCommands() {
        // the words pass through; noreply where memcached's proto_text.c looks for it
        assertEquals(List.of("SLABS [automove, 1]"), d("slabs automove 1\r\n"));
        assertEquals(List.of("SLABS [automove, 1, noreply] noreply"), d("slabs automove 1 noreply\r\n"));
        assertEquals(List.of("SLABS [reassign, 1, noreply]"), d("slabs reassign 1 noreply\r\n"));
        assertEquals(List.of("SLABS [reassign, 1, 2]"), d("slabs  reassign 1 2\r\n"));
        assertEquals(List.of("SLABS []"), d("slabs\r\n"));
        assertEquals(List.of("CACHE_MEMLIMIT [100]"), d("cache_memlimit 100\r\n"));
        assertEquals(List.of("CACHE_MEMLIMIT [100, noreply] noreply"), d("cache_memlimit 100 noreply\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("cache_memlimit\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("cache_memlimit 1 2 3\r\n"));
        assertEquals(List.of("LRU_CRAWLER [crawl, all]"), d("lru_crawler crawl all\r\n"));
        assertEquals(List.of("LRU_CRAWLER [crawl, all, noreply]"), d("lru_crawler crawl all noreply\r\n"));
        assertEquals(List.of("LRU [tune, 20, 40, 0.2, 2.0]"), d("lru tune 20 40 0.2 2.0\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("lru\r\n"));
        assertEquals(List.of("EXTSTORE [item_size, 512]"), d("extstore item_size 512\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("extstore\r\n"));
        assertEquals(List.of("WATCH []"), d("watch\r\n"));
        assertEquals(List.of("WATCH [noreply] noreply"), d("watch noreply\r\n"));
        assertEquals(List.of("SHUTDOWN [noreply]"), d("shutdown noreply\r\n"));
        assertEquals(List.of("REFRESH_CERTS []"), d("refresh_certs\r\n"));
        assertEquals(List.of("REFRESH_CERTS [noreply]"), d("refresh_certs noreply\r\n"));
        // only in memcached's debug builds: unknown, as in a release build
        assertEquals(List.of("ERR<ERROR>", "ERR<ERROR>"), d("misbehave\r\ndebugtime 1\r\n"));
    }

    @Test
    void badDataChunkResynchronisesAsMemcachedDoes() {
        // memcached reads <bytes> + 2 and checks that the last two are CRLF; what follows is the next command
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "GET k"), d("set k 0 0 5\r\nhelloXXget k\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "ERR<ERROR>"), d("set k 0 0 5\r\nhello world\r\n"));
        // shorter than declared: "hel\r\nge" is the block, "t k" an unknown command
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "ERR<ERROR>"), d("set k 0 0 5\r\nhel\r\nget k\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "ERR<ERROR>"), d("set k 0 0 5\r\nhelloget k\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "GET k"), d("set k 0 0 5\r\nhello\nXget k\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "GET k"), d("set k 0 0 5\r\nhello\rXget k\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "ERR<ERROR>"), d("set k 0 0 5\r\n\r\nhello\r\n"));
        // a data block ends at its declared length, not at a bare LF
        assertEquals(List.of("ERR<CLIENT_ERROR bad data chunk>", "ERR<ERROR>"), d("set k 0 0 5\r\nhello\nget k\r\n"));
        // with noreply memcached sends nothing for the bad chunk
        assertEquals(List.of("GET k"), d("set k 0 0 5 noreply\r\nhelloXXget k\r\n"));
        // CRLF inside the data is data
        assertEquals(List.of("SET k flags=0 exp=0 [a\r\nb\r\nc]", "GET k"), d("set k 0 0 7\r\na\r\nb\r\nc\r\nget k\r\n"));
        assertEquals(List.of("SET k flags=0 exp=0 []", "GET k"), d("set k 0 0 0\r\n\r\nget k\r\n"));
    }

    @Test
    void valuesTooLargeAreSwallowedAsTheyArrive() {
        // memcached: SERVER_ERROR object too large for cache, then the declared bytes + 2 are skipped unread;
        // a refused set also unlinks the old item (no stale value survives a failed replace): a silent delete
        String big = "x".repeat(1024 * 1024 + 1);
        assertEquals(List.of("DELETE big noreply", "ERR<SERVER_ERROR object too large for cache>", "GET k"),
                d("set big 0 0 " + big.length() + "\r\n", big, "\r\nget k\r\n"));
        assertEquals(List.of("DELETE big noreply", "GET k"),
                d("set big 0 0 " + big.length() + " noreply\r\n" + big + "\r\nget k\r\n"));
        assertEquals(List.of("ERR<SERVER_ERROR object too large for cache>", "GET k"),
                d("add big 0 0 " + big.length() + "\r\n", big, "\r\nget k\r\n"), "only set unlinks");
        assertEquals(List.of("SET big flags=0 exp=0 [" + big.substring(1) + "]"),
                d("set big 0 0 " + (big.length() - 1) + "\r\n" + big.substring(1) + "\r\n"));

        ProtocolLimits small = ProtocolLimits.DEFAULT.withMaxValueSize(4);
        assertEquals(List.of("DELETE k noreply", "ERR<SERVER_ERROR object too large for cache>", "GET k"),
                decode(() -> new CommandDecoder(small), "set k 0 0 10\r\n0123", "456789\r", "\nget k\r\n"));
        // the skipped bytes are not looked at: ZZ instead of CRLF is swallowed too
        assertEquals(List.of("DELETE k noreply", "ERR<SERVER_ERROR object too large for cache>", "GET k"),
                decode(() -> new CommandDecoder(small), "set k 0 0 10\r\n0123456789ZZget k\r\n"));
        assertEquals(List.of("DELETE k noreply", "ERR<SERVER_ERROR object too large for cache>"),
                d("set k 0 0 2000000000\r\n" + "x".repeat(100_000)));
    }

    @Test
    void aDeclaredLengthIsNeverAllocatedUpFront() {
        AtomicInteger largest = new AtomicInteger();
        ByteBufAllocator counting = new AbstractByteBufAllocator(false) {
            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                largest.accumulateAndGet(initialCapacity, Math::max);
                return new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            }

            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                return newHeapBuffer(initialCapacity, maxCapacity);
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        };
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(counting);
        ch.pipeline().addLast(new CommandDecoder());
        ch.writeInbound(Harness.bytes("set k 0 0 1000000\r\n"));
        for (int i = 0; i < 10; i++) {
            ch.writeInbound(Harness.bytes("0123456789"));
        }
        assertNull(ch.readInbound());
        assertTrue(largest.get() < 4096, "allocated " + largest.get() + " bytes for 119 received");
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void overlongLinesCloseTheConnectionSilently() {
        String setLine = "set k 0 0 5";
        // 2048 bytes of line are fine (memcached's limit), with or without the newline yet
        String ok = setLine + " ".repeat(2048 - setLine.length());
        assertEquals(List.of("SET k flags=0 exp=0 [hello]"), d(ok, "\r\nhello\r\n"));
        assertEquals(List.of("SET k flags=0 exp=0 [hello]"), d(ok + "\r", "\nhello\r\n"));
        // memcached closes, sending nothing, once 2049 bytes came without a newline
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"), d(ok + " "));
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"), d("x".repeat(3000)));
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"), d("bogus " + "x".repeat(3000) + "\r\nget a\r\n"));
        // with the newline already there too, so that how the input was split cannot matter
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"), d(ok + " \r\nhello\r\n"));
        // commands before the long line are decoded (memcached drops their replies with the connection)
        assertEquals(List.of("VERSION", "ERR<CLIENT_ERROR line too long> close silent"),
                d("version\r\n" + setLine + " ".repeat(3000)));
        // and everything after the close is discarded
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"), d("x".repeat(3000), "\r\nget k\r\n"));
    }

    @Test
    void longRetrievalLinesAreAcceptedUpToTheirOwnLimit() {
        StringBuilder get = new StringBuilder("get");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            get.append(" key:").append(i);
            keys.add("key:" + i);
        }
        String line = get.toString();
        assertTrue(line.length() > 4000);
        assertEquals(List.of("GET " + String.join(",", keys)), d(line.substring(0, 3000), line.substring(3000) + "\r\n"));
        assertEquals(List.of("GETS " + String.join(",", keys)), d("gets" + line.substring(3, 3000), line.substring(3000) + "\r\n"));
        // memcached reads long lines only for get and gets (and closes on a long gat); magent takes all four
        assertEquals(List.of("GAT exp=1 " + String.join(",", keys)), d("gat 1" + line.substring(3, 3000), line.substring(3000) + "\n"));
        assertEquals(List.of("GET " + String.join(",", keys)), d("  " + line + "\r\n"));

        ProtocolLimits limits = new ProtocolLimits(250, 2048, 4096, 1024 * 1024);
        String tooLong = "get " + "k ".repeat(2100);
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"), decode(() -> new CommandDecoder(limits), tooLong));
        assertEquals(List.of("ERR<CLIENT_ERROR line too long> close silent"),
                decode(() -> new CommandDecoder(limits), tooLong.substring(0, 3000), tooLong.substring(3000) + "k\r\n"));
        assertEquals(List.of("GET " + "k,".repeat(2045) + "k"),
                decode(() -> new CommandDecoder(limits), "get " + "k ".repeat(2045) + "k\r\n"));
    }

    @Test
    void adminCommandsOnlyWithAPrefix() {
        assertEquals(List.of("ERR<ERROR>"), d("magent reload\r\n"));
        assertEquals(List.of("ADMIN [resync, 10.0.0.1:11211]", "ADMIN []", "GET k"),
                decode(() -> new CommandDecoder(ProtocolLimits.DEFAULT, "magent"),
                        "magent  resync 10.0.0.1:11211\r\nmagent\r\nget k\r\n"));
        for (String bad : List.of("", "get", "mg", "two words", "tab\t")) {
            assertThrows(IllegalArgumentException.class, () -> new CommandDecoder(ProtocolLimits.DEFAULT, bad), bad);
        }
    }

    @Test
    void endOfInputOrRemovalInsideACommandReleasesEverything() {
        assertEquals(List.of(), d("set k 0 0 5\r\nhel"));
        assertEquals(List.of(), d("get k"));
        EmbeddedChannel ch = new EmbeddedChannel(new CommandDecoder());
        ch.writeInbound(Harness.bytes("get a\r\nset k 0 0 5\r\nhel"));
        Object get = ch.readInbound();
        assertEquals("GET a", describe(get));
        ch.pipeline().removeFirst();
        // Netty hands the undecoded bytes on when a decoder is removed; nothing else is held
        ByteBuf rest = ch.readInbound();
        assertEquals("hel", Harness.text(rest));
        rest.release();
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void theServerCodecDecodesCommandsAndEncodesReplies() {
        EmbeddedChannel ch = new EmbeddedChannel(new MemcacheServerCodec());
        ch.writeInbound(Harness.bytes("set k 0 0 2\r\nhi\r\nget k\r\n"));
        StorageCommand set = assertInstanceOf(StorageCommand.class, ch.readInbound());
        assertEquals("SET k flags=0 exp=0 [hi]", describe(set));
        ch.writeOutbound(StatusReply.STORED);
        ch.writeOutbound(new ValuesReply(List.of(new Value(set.key(), set.flags(), set.value(), Value.NO_CAS))));
        assertEquals("GET k", describe(ch.readInbound()));
        StringBuilder written = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            written.append(Harness.text(b));
            b.release();
        }
        assertEquals("STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n", written.toString());
        assertFalse(ch.finishAndReleaseAll());
    }

    /** A pipelined batch, fed in two pieces split at every byte, and byte by byte: always the same commands. */
    @Test
    void everySplitPointOfAPipelinedBatch() {
        String batch = "set a 1 0 5\r\nx\r\ny\r\r\nget a b\r\nincr n 1\r\ncas c 0 0 2 7 noreply\r\n\r\n\r\n"
                + "delete a\r\ngat 5 a\r\nbogus\r\ntouch a 1\nset b 0 0 3\r\nabcXX\r\nflush_all\r\nversion\r\n"
                + "set big 0 0 1048577 noreply\r\n" + "v".repeat(40) + "\r\n\r\nstats items\r\nquit\r\n";
        List<String> whole = d(batch);
        assertEquals(List.of("SET a flags=1 exp=0 [x\r\ny\r]", "GET a,b", "INCR n 1", "CAS c flags=0 exp=0 cas=7 noreply [\r\n]",
                "DELETE a", "GAT exp=5 a", "ERR<ERROR>", "TOUCH a 1", "ERR<CLIENT_ERROR bad data chunk>", "ERR<ERROR>",
                "FLUSH_ALL", "VERSION", "DELETE big noreply"), whole);
        // the 1 MiB value swallows the rest: use a smaller, complete one for the split test
        String complete = batch.replace("1048577 noreply\r\n" + "v".repeat(40), "40\r\n" + "v".repeat(40));
        List<String> expected = d(complete);
        assertEquals(16, expected.size(), expected.toString());
        assertEquals("SET big flags=0 exp=0 [" + "v".repeat(40) + "]", expected.get(12));
        assertEquals(List.of("ERR<ERROR>", "STATS <items>", "QUIT"), expected.subList(13, 16));
        for (int split = 0; split <= complete.length(); split++) {
            assertEquals(expected, d(complete.substring(0, split), complete.substring(split)), "split at " + split);
        }
        assertEquals(expected, d(complete.split("")));
    }

    @Test
    void aValueIsASliceOfTheInputNotACopy() {
        EmbeddedChannel ch = new EmbeddedChannel(new CommandDecoder());
        ByteBuf input = Harness.unpooled("set k 0 0 5\r\nhello\r\n");
        ch.writeInbound(input);
        StorageCommand set = ch.readInbound();
        ByteBuf value = set.value();
        assertTrue(value.unwrap() != null, "a derived buffer");
        // writing through the input shows through the value: same memory
        input.setByte(13, 'j');
        assertEquals("jello", Harness.text(value));
        ReferenceCountUtil.release(set);
        assertEquals(0, input.refCnt());
        assertFalse(ch.finishAndReleaseAll());
    }
}
