package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The space-separated tokens of one protocol line, as offsets into the buffer holding it: no copy and no
 * allocation per line once the arrays have grown to the longest line seen. Like memcached's tokenizer,
 * only the space byte separates tokens and runs of spaces count as one; a tab or a control character is
 * part of a token. A NUL byte ends the line, as memcached reads a line as a C string: what follows it on
 * the line is ignored.
 *
 * <p>One instance per decoder, reused for every line; it refers to the buffer only until the next
 * {@link #split} or {@link #clear}.
 */
final class LineTokens implements ByteProcessor {
    private static final byte SPACE = ' ';

    private ByteBuf buf;
    private int[] starts = new int[8];
    private int[] ends = new int[8];
    private int count;
    private int position;
    private int tokenStart = -1;
    private long number;

    /** Splits {@code buf[from, to)} into tokens. */
    void split(ByteBuf buf, int from, int to) {
        this.buf = buf;
        count = 0;
        position = from;
        tokenStart = -1;
        if (to > from) {
            buf.forEachByte(from, to - from, this);
        }
        if (tokenStart >= 0) {
            add(tokenStart, position); // where the line ended: at to, or at a NUL
        }
    }

    /** Drops the reference to the last buffer split. */
    void clear() {
        buf = null;
        count = 0;
    }

    @Override
    public boolean process(byte value) {
        if (value == 0) {
            return false; // the end of the C string memcached sees
        }
        if (value == SPACE) {
            if (tokenStart >= 0) {
                add(tokenStart, position);
                tokenStart = -1;
            }
        } else if (tokenStart < 0) {
            tokenStart = position;
        }
        position++;
        return true;
    }

    private void add(int start, int end) {
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, count * 2);
            ends = Arrays.copyOf(ends, count * 2);
        }
        starts[count] = start;
        ends[count] = end;
        count++;
    }

    int count() {
        return count;
    }

    int start(int i) {
        return starts[i];
    }

    int end(int i) {
        return ends[i];
    }

    int length(int i) {
        return ends[i] - starts[i];
    }

    /** Whether token {@code i} is exactly these ASCII bytes. */
    boolean is(int i, byte[] ascii) {
        return length(i) == ascii.length && regionIs(starts[i], ascii);
    }

    /** Whether token {@code i} starts with these ASCII bytes. */
    boolean startsWith(int i, byte[] ascii) {
        return length(i) >= ascii.length && regionIs(starts[i], ascii);
    }

    private boolean regionIs(int at, byte[] ascii) {
        for (int k = 0; k < ascii.length; k++) {
            if (buf.getByte(at + k) != ascii[k]) {
                return false;
            }
        }
        return true;
    }

    /** Whether the last token is {@code noreply}: memcached's test, whatever the token's position. */
    boolean lastIsNoreply() {
        return count > 0 && is(count - 1, Wire.NOREPLY);
    }

    /** A copy of token {@code i}. */
    byte[] bytes(int i) {
        byte[] copy = new byte[length(i)];
        buf.getBytes(starts[i], copy);
        return copy;
    }

    /** Token {@code i} as text (ISO-8859-1, so every byte survives). */
    String string(int i) {
        return buf.toString(starts[i], length(i), StandardCharsets.ISO_8859_1);
    }

    /** Tokens {@code from} to the last, joined by single spaces; empty when there are none. */
    String join(int from) {
        if (from >= count) {
            return "";
        }
        if (from == count - 1) {
            return string(from);
        }
        StringBuilder sb = new StringBuilder(ends[count - 1] - starts[from]);
        for (int i = from; i < count; i++) {
            if (i > from) {
                sb.append(' ');
            }
            sb.append(string(i));
        }
        return sb.toString();
    }

    /** The number parsed by the last successful {@code parse*} call. */
    long number() {
        return number;
    }

    /** Token {@code i} as an unsigned 64-bit number ({@code [+]digits}); false if it is not one. */
    boolean parseU64(int i) {
        int at = starts[i];
        if (at < ends[i] && buf.getByte(at) == '+') {
            at++;
        }
        return parseDigits(at, ends[i]);
    }

    /** Token {@code i} as an unsigned 32-bit number; false if it is not one or is out of range. */
    boolean parseU32(int i) {
        return parseU64(i) && Long.compareUnsigned(number, 0xFFFF_FFFFL) <= 0;
    }

    /** Token {@code i} as a signed 32-bit number ({@code [+-]digits}); false if it is not one or is out of range. */
    boolean parseS32(int i) {
        int at = starts[i];
        boolean negative = false;
        if (at < ends[i] && (buf.getByte(at) == '-' || buf.getByte(at) == '+')) {
            negative = buf.getByte(at) == '-';
            at++;
        }
        if (!parseDigits(at, ends[i])
                || Long.compareUnsigned(number, negative ? 1L << 31 : Integer.MAX_VALUE) > 0) {
            return false;
        }
        if (negative) {
            number = -number;
        }
        return true;
    }

    /** Parses {@code [at, end)} as decimal digits into {@link #number}, unsigned 64-bit. */
    private boolean parseDigits(int at, int end) {
        if (at == end) {
            return false;
        }
        long value = 0;
        for (; at < end; at++) {
            int digit = buf.getByte(at) - '0';
            if (digit < 0 || digit > 9) {
                return false;
            }
            // value * 10 + digit must stay below 2^64
            if (Long.compareUnsigned(value, 0x1999_9999_9999_9999L) > 0) {
                return false;
            }
            long next = value * 10 + digit;
            if (Long.compareUnsigned(next, value * 10) < 0) {
                return false;
            }
            value = next;
        }
        number = value;
        return true;
    }
}
