package dev.magent.protocol;

import static dev.magent.protocol.Harness.decode;
import static dev.magent.protocol.Harness.unescape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The server-side decoder on meta commands. Every error row was answered the same way by memcached 1.6.18
 * for the same bytes (sent by hand, in one session).
 */
class MetaDecoderTest {
    private static List<String> d(String... pieces) {
        return decode(CommandDecoder::new, pieces);
    }

    private static List<String> expected(String joined) {
        return joined == null ? List.of() : Arrays.asList(joined.split(" ; "));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            mg k\\r\\n                                        | MG k []
            mg k v f t s k O123 c h l\\r\\n                   | MG k [v, f, t, s, k, O123, c, h, l]
            mg k  v   q\\r\\n                                 | MG k [v, q]
            mg k N30 R10 T-1 u\\r\\n                          | MG k [N30, R10, T-1, u]
            mg k P L u F4294967296 C18446744073709551615\\r\\n | MG k [P, L, u, F4294967296, C18446744073709551615]
            mg k T+5 J-0 T2147483648\\r\\n                    | ERR<CLIENT_ERROR duplicate flag>
            mg QQ== b v\\r\\n                                 | MG QQ===<A> [b, v]
            mg YWJj b k v\\r\\n                               | MG YWJj=<abc> [b, k, v]
            ms k 2 T0 F5\\r\\nhi\\r\\n                        | MS k [T0, F5] [hi]
            ms k 0\\r\\n\\r\\n                                | MS k [] []
            ms k 2 MA q I C5 k O1 c\\r\\nhi\\r\\n             | MS k [MA, q, I, C5, k, O1, c] [hi]
            ms YWJj 1 b\\r\\nz\\r\\n                          | MS YWJj=<abc> [b] [z]
            ms k 4294967298\\r\\nab\\r\\n                     | MS k [] [ab]
            md k q I T30 C9 k O1\\r\\n                        | MD k [q, I, T30, C9, k, O1]
            ma k N0 J13 D5 MD T10 q t c v k O1\\r\\n          | MA k [N0, J13, D5, MD, T10, q, t, c, v, k, O1]
            mn\\r\\n                                          | MN []
            mn a b\\r\\n                                      | MN []
            me k\\r\\n                                        | ME k []
            me k x b\\r\\n                                    | ME k []
            me QQ== b\\r\\n                                   | ME QQ===<A> [b]
            mg k v\\nmn\\n                                    | MG k [v] ; MN []
            """)
    void decodesMetaCommands(String wire, String expected) {
        assertEquals(expected(expected), d(unescape(wire)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            mg\\r\\n                                          | ERR<ERROR>
            ms\\r\\n                                          | ERR<ERROR>
            md\\r\\n                                          | ERR<ERROR>
            ma\\r\\n                                          | ERR<ERROR>
            mx k\\r\\n                                        | ERR<ERROR>
            mz\\r\\n                                          | ERR<ERROR>
            m\\r\\n                                           | ERR<ERROR>
            me\\r\\n                                          | ERR<CLIENT_ERROR bad command line format>
            me k b\\r\\n                                      | ERR<CLIENT_ERROR bad command line format>
            ms k\\r\\n                                        | ERR<CLIENT_ERROR bad command line format>
            mg k v v\\r\\n                                    | ERR<CLIENT_ERROR duplicate flag>
            mg k N-1 N\\r\\n                                  | ERR<CLIENT_ERROR duplicate flag>
            mg k Tz F5 q q\\r\\n                              | ERR<CLIENT_ERROR duplicate flag>
            mg k x v v\\r\\n                                  | ERR<CLIENT_ERROR invalid flag>
            mg k v x\\r\\n                                    | ERR<CLIENT_ERROR invalid flag>
            mg k E5\\r\\n                                     | ERR<CLIENT_ERROR invalid flag>
            mg k Tz\\r\\n                                     | ERR<CLIENT_ERROR bad token in command line format>
            mg k T1x\\r\\n                                    | ERR<CLIENT_ERROR bad token in command line format>
            mg k N\\r\\n                                      | ERR<CLIENT_ERROR bad token in command line format>
            mg k C-1\\r\\n                                    | ERR<CLIENT_ERROR bad token in command line format>
            mg k C18446744073709551616\\r\\n                  | ERR<CLIENT_ERROR bad token in command line format>
            mg k T9223372036854775808\\r\\n                   | ERR<CLIENT_ERROR bad token in command line format>
            mg k Mxx\\r\\n                                    | ERR<CLIENT_ERROR incorrect length for M token>
            mg k Mxx Tz\\r\\n                                 | ERR<CLIENT_ERROR bad token in command line format>
            mg k Tz Mxx\\r\\n                                 | ERR<CLIENT_ERROR incorrect length for M token>
            mg k J-\\r\\n                                     | ERR<CLIENT_ERROR invalid numeric initial value>
            mg k Dq\\r\\n                                     | ERR<CLIENT_ERROR invalid numeric delta value>
            mg k F-1\\r\\n                                    | ERR<CLIENT_ERROR bad command line format>
            mg k b\\r\\n                                      | ERR<CLIENT_ERROR error decoding key>
            mg YWJj= b\\r\\n                                  | ERR<CLIENT_ERROR error decoding key>
            mg ==== b\\r\\n                                   | ERR<CLIENT_ERROR error decoding key>
            mg k Tz b Fx\\r\\n                                | ERR<CLIENT_ERROR error decoding key>
            mg YWJ b Tz\\r\\n                                 | ERR<CLIENT_ERROR bad token in command line format>
            md k x\\r\\n                                      | ERR<CLIENT_ERROR invalid or duplicate flag>
            md k T1 Tx\\r\\n                                  | ERR<CLIENT_ERROR invalid or duplicate flag>
            ma k q q\\r\\n                                    | ERR<CLIENT_ERROR invalid or duplicate flag>
            ma k Dx Dy\\r\\n                                  | ERR<CLIENT_ERROR invalid or duplicate flag>
            mg k 1 2 3 4 5 6 7 8 9 a b c d e f g h\\r\\n      | ERR<CLIENT_ERROR invalid flag>
            mg k 1 2 3 4 5 6 7 8 9 a b c d e f g h i\\r\\n    | ERR<CLIENT_ERROR options flags are too long>
            md k 1 2 3 4 5 6 7 8 9 a b c d e f g h i\\r\\n    | ERR<CLIENT_ERROR options flags too long>
            ms k 2 1 2 3 4 5 6 7 8 9 a b c d e f g h\\r\\nhi\\r\\n | ERR<CLIENT_ERROR options flags too long> ; ERR<ERROR>
            ms k 2 Fz\\r\\nhi\\r\\nmn\\r\\n                   | ERR<CLIENT_ERROR bad command line format> ; MN []
            ms k 1 b\\r\\nx\\r\\nmn\\r\\n                     | ERR<CLIENT_ERROR error decoding key> ; MN []
            ms k 1 M\\r\\nx\\r\\nmn\\r\\n                     | ERR<CLIENT_ERROR incorrect length for M token> ; MN []
            ms k 2 E5\\r\\nhi\\r\\nmn\\r\\n                   | ERR<CLIENT_ERROR invalid flag> ; MN []
            ms k zz\\r\\nhi\\r\\n                             | ERR<CLIENT_ERROR bad command line format> ; ERR<ERROR>
            ms k -1\\r\\n                                     | ERR<CLIENT_ERROR bad command line format>
            ms k 2147483646\\r\\n                             | ERR<CLIENT_ERROR bad command line format>
            ms k 9223372036854775808\\r\\n                   | ERR<CLIENT_ERROR bad command line format>
            ms k 2147483648\\r\\n                             | ERR<CLIENT_ERROR bad command line format>
            ms k 2 q\\r\\nhiX\\r\\n                           | ERR<CLIENT_ERROR bad data chunk> ; ERR<ERROR>
            """)
    void answersBadMetaCommandsAsMemcachedDoes(String wire, String expected) {
        // memcached checks, in order: enough tokens (ERROR), key length, too many flags, ms's length (no data
        // swallowed), then each flag; an ms whose flags fail has its data swallowed; a data block without
        // CRLF is reported even under q, and its last byte is read as an empty command (ERROR)
        assertEquals(expected(expected), d(unescape(wire)));
    }

    @Test
    void aNulEndsTheLineAsInMemcached() {
        // memcached reads the line as a C string: "mg k\0x v" is "mg k"; an ms cut short loses its length,
        // so its data is read as a command, exactly as memcached does (nothing after the NUL is forwarded)
        assertEquals(List.of("MG k []"), d("mg k\0x v\r\n"));
        assertEquals(List.of("MG k [v]"), d("mg k v\0 f\r\n"));
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>", "ERR<ERROR>"), d("ms k\0 2\r\nhi\r\n"));
        assertEquals(List.of("ERR<ERROR>"), d("m\0 k\r\n"));
        // a CR inside a token is part of it, for memcached as here
        assertEquals(List.of("MG k\rx [v]"), d("mg k\rx v\r\n"));
    }

    @Test
    void keyLengthIsCheckedOnTheWrittenKey() {
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>"), d("mg " + "k".repeat(251) + " v\r\n"));
        assertEquals(List.of("MG " + "k".repeat(250) + " [v]"), d("mg " + "k".repeat(250) + " v\r\n"));
        // 252 base64 characters are too long even though they decode to 189 bytes
        String b64 = "QUJD".repeat(63);
        assertEquals(List.of("ERR<CLIENT_ERROR bad command line format>"), d("mg " + b64 + "QUJD b\r\n"));
    }

    @Test
    void anMsValueAboveTheLimitIsRefusedAndItsDataSkipped() {
        List<String> out = decode(() -> new CommandDecoder(new ProtocolLimits(250, 2048, 2048, 4)),
                "ms k 5 T0\r\nhello\r\nmn\r\n");
        assertEquals(List.of("DELETE k noreply", "ERR<SERVER_ERROR object too large for cache>", "MN []"), out);
    }

    @Test
    void fragmentedInputDecodesTheSameAsWhole() {
        String wire = "mg k v f\r\nms YWJj 5 b T10 O1\r\nhel\r\n\r\nmd k q\r\nms k 2 Fz\r\nhi\r\nma k N0 v\r\nmn\r\n"
                + "me k\r\n";
        List<String> whole = d(wire);
        assertEquals(List.of("MG k [v, f]", "MS YWJj=<abc> [b, T10, O1] [hel\r\n]", "MD k [q]",
                "ERR<CLIENT_ERROR bad command line format>", "MA k [N0, v]", "MN []", "ME k []"), whole);
        // byte by byte
        String[] bytes = wire.split("");
        assertEquals(whole, d(bytes));
        // random splits
        Random random = new Random(13);
        for (int round = 0; round < 50; round++) {
            List<String> pieces = new ArrayList<>();
            int at = 0;
            while (at < wire.length()) {
                int n = 1 + random.nextInt(Math.min(12, wire.length() - at));
                pieces.add(wire.substring(at, at + n));
                at += n;
            }
            assertEquals(whole, d(pieces.toArray(String[]::new)));
        }
    }

    @Test
    void base64KeysDecodeAsMemcachedDecodesThem() {
        Base64.Encoder enc = Base64.getEncoder();
        Random random = new Random(7);
        for (int n = 1; n < 40; n++) {
            byte[] key = new byte[n];
            random.nextBytes(key);
            assertArrayEquals(key, Base64Keys.decode(enc.encode(key)), "length " + n);
        }
        // memcached skips bytes outside the alphabet and stops after the first padded group
        assertArrayEquals("abc".getBytes(StandardCharsets.US_ASCII), Base64Keys.decode(ascii("YW*Jj")));
        assertArrayEquals("A".getBytes(StandardCharsets.US_ASCII), Base64Keys.decode(ascii("QQ==QUJD")));
        assertNull(Base64Keys.decode(ascii("QQ=")));
        assertNull(Base64Keys.decode(ascii("====")));
        assertNull(Base64Keys.decode(ascii("***")));
    }

    @Test
    void numbersParseAsCsStrtolAndStrtoul() {
        long[] out = new long[1];
        assertTrue(MetaParser.number("T\t5", 1, false, out));
        assertEquals(5, out[0]);
        assertTrue(MetaParser.number("T5\t", 1, false, out));
        assertTrue(MetaParser.number("T-9223372036854775808", 1, false, out));
        assertEquals(Long.MIN_VALUE, out[0]);
        assertFalse(MetaParser.number("T9223372036854775808", 1, false, out));
        assertTrue(MetaParser.number("C18446744073709551615", 1, true, out));
        assertEquals(-1L, out[0]);
        assertFalse(MetaParser.number("C18446744073709551616", 1, true, out));
        assertFalse(MetaParser.number("C-1", 1, true, out));
        assertTrue(MetaParser.number("C-0", 1, true, out));
        assertFalse(MetaParser.number("C", 1, true, out));
        assertFalse(MetaParser.number("C+", 1, true, out));
        assertFalse(MetaParser.number("C5x", 1, true, out));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
