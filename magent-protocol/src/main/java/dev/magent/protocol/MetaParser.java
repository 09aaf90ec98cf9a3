package dev.magent.protocol;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a meta command line ({@code mg ms md ma mn me}) the way memcached 1.6.18 does (proto_text.c:
 * process_mget_command and its siblings, _meta_flag_preparse, and util.c's safe_strto* number parsing), so
 * that bad input gets memcached's own error, checked in memcached's order. What only the item can decide
 * (an unknown {@code M} mode, a too long opaque, a non-numeric value for {@code ma}) is left to the server
 * the command is forwarded to, which answers it with the same words.
 *
 * <p>One instance per decoder. After {@link #parse} returns null, {@link #error()} says what to answer
 * and {@link #swallow()} how many bytes of data memcached throws away after that error (an {@code ms}
 * whose line was read far enough to know its data length).
 */
final class MetaParser {
    static final ErrorReply BAD_FORMAT = ErrorReply.BAD_COMMAND_LINE;
    private static final ErrorReply DUPLICATE_FLAG = ErrorReply.client("duplicate flag");
    private static final ErrorReply INVALID_FLAG = ErrorReply.client("invalid flag");
    private static final ErrorReply BAD_TOKEN = ErrorReply.client("bad token in command line format");
    private static final ErrorReply DECODING_KEY = ErrorReply.client("error decoding key");
    private static final ErrorReply M_LENGTH = ErrorReply.client("incorrect length for M token");
    private static final ErrorReply BAD_INITIAL = ErrorReply.client("invalid numeric initial value");
    private static final ErrorReply BAD_DELTA = ErrorReply.client("invalid numeric delta value");
    private static final ErrorReply INVALID_OR_DUPLICATE = ErrorReply.client("invalid or duplicate flag");
    /** mg's wording; ms, md and ma say "options flags too long". */
    private static final ErrorReply MG_TOO_MANY = ErrorReply.client("options flags are too long");
    private static final ErrorReply TOO_MANY = ErrorReply.client("options flags too long");
    /** memcached's MFLAG_MAX_OPT_LENGTH: more tokens than this (counting its end marker) is refused. */
    private static final int MAX_TOKENS = 20;

    private final ProtocolLimits limits;
    private ErrorReply error;
    private long swallow;
    private int dataLength;
    private byte[] routingKey;

    MetaParser(ProtocolLimits limits) {
        this.limits = limits;
    }

    /** The error for the line last parsed, when {@link #parse} returned null. */
    ErrorReply error() {
        return error;
    }

    /** Bytes memcached swallows after the error: an {@code ms}'s data and its CRLF; 0 for none. */
    long swallow() {
        return swallow;
    }

    /** For an {@code ms}: the length of the data block to read next. */
    int dataLength() {
        return dataLength;
    }

    /**
     * Parses a line whose first token is two bytes starting with {@code m}. Returns the command (for
     * {@code ms} with a placeholder empty value: read {@link #dataLength()} bytes and CRLF next), or null
     * with {@link #error()} set.
     */
    MetaCommand parse(LineTokens tokens) {
        error = null;
        swallow = 0;
        dataLength = 0;
        routingKey = null;
        String[] t = words(tokens);
        if (t.length == 0 || t[0].length() != 2) {
            return fail(ErrorReply.UNKNOWN_COMMAND); // "m\0...": memcached sees "m"
        }
        char second = t[0].charAt(1);
        int n = t.length + 1; // memcached counts an end-of-line token too
        switch (second) {
            case 'n':
                return MetaCommand.NOOP; // mn ignores whatever follows it
            case 'e':
                return debug(t);
            case 'g':
            case 's':
            case 'd':
            case 'a':
                break;
            default:
                return fail(ErrorReply.UNKNOWN_COMMAND);
        }
        if (n < 3) {
            return fail(ErrorReply.UNKNOWN_COMMAND); // WANT_TOKENS_MIN(ntokens, 3)
        }
        if (t[1].length() > limits.maxKeyLength()) {
            return fail(BAD_FORMAT);
        }
        Verb verb = switch (second) {
            case 'g' -> Verb.MG;
            case 's' -> Verb.MS;
            case 'd' -> Verb.MD;
            default -> Verb.MA;
        };
        int firstFlag = 2;
        if (verb == Verb.MS) {
            if (n == 3) {
                return fail(BAD_FORMAT);
            }
            if (n > MAX_TOKENS) {
                return fail(TOO_MANY);
            }
            // ms <key> <datalen> <flag>*: memcached parses the length into an int32, truncating
            long[] parsed = new long[1];
            if (!number(t[2], 0, false, parsed)) { // safe_strtol, then truncated to an int32
                return fail(BAD_FORMAT);
            }
            int length = (int) parsed[0];
            if (length < 0 || length > Integer.MAX_VALUE - 2) {
                return fail(BAD_FORMAT);
            }
            dataLength = length;
            firstFlag = 3;
        } else if (n > MAX_TOKENS) {
            return fail(verb == Verb.MG ? MG_TOO_MANY : TOO_MANY);
        }
        ErrorReply flagError = preparse(t, firstFlag);
        if (flagError != null) {
            if (verb == Verb.MS) {
                swallow = dataLength + 2L;
                return fail(flagError);
            }
            return fail(verb == Verb.MG ? flagError : INVALID_OR_DUPLICATE);
        }
        byte[] key = bytes(t[1]);
        List<String> flags = t.length == firstFlag ? List.of() : List.of(t).subList(firstFlag, t.length);
        return new MetaCommand(verb, key, routingKey != null ? routingKey : key, flags,
                verb == Verb.MS ? Unpooled.EMPTY_BUFFER : null);
    }

    /** {@code me <key> [b]}: only a {@code b} right after the key counts; anything else is ignored. */
    private MetaCommand debug(String[] t) {
        if (t.length < 2 || t[1].length() > limits.maxKeyLength()) {
            return fail(BAD_FORMAT);
        }
        byte[] key = bytes(t[1]);
        byte[] routing = key;
        List<String> flags = List.of();
        if (t.length >= 3 && t[2].equals("b")) {
            routing = Base64Keys.decode(key);
            if (routing == null) {
                return fail(BAD_FORMAT);
            }
            flags = List.of("b");
        }
        return new MetaCommand(Verb.ME, key, routing, flags, null);
    }

    /**
     * memcached's _meta_flag_preparse: the first error found, or null. A repeated flag (or a byte above
     * 126) and an unknown flag stop the scan at once; other problems are noted and the scan goes on, a
     * later problem's message replacing an earlier one.
     */
    private ErrorReply preparse(String[] t, int from) {
        long seenLow = 0;
        long seenHigh = 0;
        boolean hasError = false;
        ErrorReply message = null;
        long[] parsed = new long[1];
        for (int i = from; i < t.length; i++) {
            String token = t[i];
            int o = token.charAt(0);
            boolean seen = o < 64 ? (seenLow & (1L << o)) != 0 : o < 127 && (seenHigh & (1L << (o - 64))) != 0;
            if (o >= 127 || seen) {
                return DUPLICATE_FLAG;
            }
            if (o < 64) {
                seenLow |= 1L << o;
            } else {
                seenHigh |= 1L << (o - 64);
            }
            switch (o) {
                case 'b' -> {
                    routingKey = Base64Keys.decode(bytes(t[1]));
                    if (routingKey == null) {
                        message = DECODING_KEY;
                        hasError = true;
                    }
                }
                case 'N', 'T', 'R' -> {
                    if (!number(token, 1, false, parsed)) {
                        message = BAD_TOKEN;
                        hasError = true;
                    }
                }
                case 'F' -> hasError |= !number(token, 1, true, parsed); // keeps the caller's message
                case 'C' -> {
                    if (!number(token, 1, true, parsed)) {
                        message = BAD_TOKEN;
                        hasError = true;
                    }
                }
                case 'M' -> {
                    if (token.length() != 2) {
                        message = M_LENGTH;
                        hasError = true;
                    }
                }
                case 'J' -> {
                    if (!number(token, 1, true, parsed)) {
                        message = BAD_INITIAL;
                        hasError = true;
                    }
                }
                case 'D' -> {
                    if (!number(token, 1, true, parsed)) {
                        message = BAD_DELTA;
                        hasError = true;
                    }
                }
                case 'l', 'O', 'P', 'L', 'k', 's', 't', 'c', 'f', 'v', 'h', 'u', 'q', 'I' -> {
                    // known; nothing to check here
                }
                default -> {
                    return INVALID_FLAG;
                }
            }
        }
        return hasError ? (message != null ? message : BAD_FORMAT) : null;
    }

    /**
     * The line's tokens as text (one char per byte), up to the first NUL byte: memcached reads a line as a C
     * string, so a NUL ends it there, and what follows it is never seen (nor forwarded).
     */
    private static String[] words(LineTokens tokens) {
        int n = tokens.count();
        String[] words = new String[n];
        for (int i = 0; i < n; i++) {
            String w = tokens.string(i);
            int nul = w.indexOf('\0');
            if (nul == 0) {
                return Arrays.copyOf(words, i);
            }
            if (nul > 0) {
                String[] cut = Arrays.copyOf(words, i + 1);
                cut[i] = w.substring(0, nul);
                return cut;
            }
            words[i] = w;
        }
        return words;
    }

    private static byte[] bytes(String word) {
        return word.getBytes(StandardCharsets.ISO_8859_1);
    }

    private MetaCommand fail(ErrorReply reply) {
        error = reply;
        return null;
    }

    /**
     * C's strtol (signed) or strtoul (unsigned) in base 10 on a 64-bit system, followed by the checks of
     * memcached's safe_strtol/safe_strtoul: leading white space and a sign are taken; at least one digit;
     * no overflow of 64 bits; the number must end the token or be followed by white space; an unsigned
     * number that is negative as a signed one is refused if the text holds a minus sign anywhere.
     *
     * @param s        the token text
     * @param from     where the number starts in it
     * @param unsigned strtoul rather than strtol
     * @param out      receives the 64-bit value (for strtoul, a negated one wraps as in C)
     */
    static boolean number(String s, int from, boolean unsigned, long[] out) {
        int i = from;
        int end = s.length();
        while (i < end && isSpace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < end && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        int digitsFrom = i;
        long magnitude = 0;
        boolean overflow = false;
        while (i < end && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            int digit = s.charAt(i) - '0';
            if (Long.compareUnsigned(magnitude, Long.divideUnsigned(-1L - digit, 10)) > 0) {
                overflow = true;
            } else {
                magnitude = magnitude * 10 + digit;
            }
            i++;
        }
        if (i == digitsFrom) {
            return false; // no conversion: endptr == str
        }
        long value;
        if (unsigned) {
            if (overflow) {
                return false; // ERANGE
            }
            value = negative ? -magnitude : magnitude;
        } else {
            long limit = negative ? Long.MIN_VALUE : Long.MAX_VALUE;
            if (overflow || Long.compareUnsigned(magnitude, limit) > 0) {
                return false; // ERANGE
            }
            value = negative ? -magnitude : magnitude;
        }
        if (i < end && !isSpace(s.charAt(i))) {
            return false;
        }
        if (unsigned && value < 0 && s.indexOf('-', from) >= 0) {
            return false;
        }
        out[0] = value;
        return true;
    }

    /** C's isspace in the C locale. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }
}
