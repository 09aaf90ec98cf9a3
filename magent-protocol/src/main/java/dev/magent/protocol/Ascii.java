package dev.magent.protocol;

import io.netty.buffer.ByteBuf;

/** Reading and writing the ASCII pieces of the text protocol straight from and into buffers. */
final class Ascii {
    private Ascii() {
    }

    private static final long MAX_U64_DIV_10 = Long.divideUnsigned(-1L, 10);

    /** Sentinel for a field that is not a number in range. */
    static final long INVALID = Long.MIN_VALUE;

    /**
     * An unsigned decimal in {@code [start, end)} no larger than {@code max}, or {@link #INVALID}. Only digits
     * are accepted, as memcached's strtoul-based checks do for the fields we parse.
     */
    static long parseUnsigned(ByteBuf b, int start, int end, long max) {
        if (start >= end || end - start > 19) {
            return INVALID;
        }
        long v = 0;
        for (int i = start; i < end; i++) {
            int d = b.getByte(i) - '0';
            if (d < 0 || d > 9) {
                return INVALID;
            }
            v = v * 10 + d;
        }
        return v > max ? INVALID : v;
    }

    /** A signed 32-bit decimal (memcached's safe_strtol for exptime and lengths), or {@link #INVALID}. */
    static long parseInt32(ByteBuf b, int start, int end) {
        if (start < end && b.getByte(start) == '-') {
            long v = parseUnsigned(b, start + 1, end, 1L << 31);
            return v == INVALID ? INVALID : -v;
        }
        return parseUnsigned(b, start, end, Integer.MAX_VALUE);
    }

    /**
     * An unsigned 64-bit decimal held in a long (memcached's safe_strtoull for deltas and cas uniques),
     * or {@code null}-like failure signalled through {@code ok[0]}.
     */
    static long parseUnsigned64(ByteBuf b, int start, int end, boolean[] ok) {
        ok[0] = false;
        if (start >= end || end - start > 20) {
            return 0;
        }
        long v = 0;
        for (int i = start; i < end; i++) {
            int d = b.getByte(i) - '0';
            if (d < 0 || d > 9) {
                return 0;
            }
            // stop before the unsigned value would pass 2^64 - 1
            if (Long.compareUnsigned(v, MAX_U64_DIV_10) > 0) {
                return 0;
            }
            long times10 = v * 10;
            long next = times10 + d;
            if (Long.compareUnsigned(next, times10) < 0) {
                return 0;
            }
            v = next;
        }
        ok[0] = true;
        return v;
    }

    /** Writes a non-negative long in decimal. */
    static void writeDecimal(ByteBuf out, long v) {
        if (v < 0) {
            throw new IllegalArgumentException("negative: " + v);
        }
        writeUnsignedDecimal(out, v);
    }

    /** Writes a long read as unsigned 64-bit, in decimal, without allocating. */
    static void writeUnsignedDecimal(ByteBuf out, long v) {
        if (v >= 0 && v < 10) {
            out.writeByte('0' + (int) v);
            return;
        }
        byte[] digits = DIGITS.get();
        int i = digits.length;
        long rest = v;
        if (rest < 0) {
            // the top bit is set: divide once as unsigned to get into signed range
            long q = Long.divideUnsigned(rest, 10);
            digits[--i] = (byte) ('0' + (rest - q * 10));
            rest = q;
        }
        while (rest > 0) {
            digits[--i] = (byte) ('0' + rest % 10);
            rest /= 10;
        }
        out.writeBytes(digits, i, digits.length - i);
    }

    /** Writes a signed long in decimal. */
    static void writeSignedDecimal(ByteBuf out, long v) {
        if (v < 0) {
            out.writeByte('-');
            writeUnsignedDecimal(out, -v);
        } else {
            writeUnsignedDecimal(out, v);
        }
    }

    private static final ThreadLocal<byte[]> DIGITS = ThreadLocal.withInitial(() -> new byte[20]);

    /** Whether {@code [start, end)} equals the ASCII bytes of {@code word}. */
    static boolean equals(ByteBuf b, int start, int end, byte[] word) {
        if (end - start != word.length) {
            return false;
        }
        for (int i = 0; i < word.length; i++) {
            if (b.getByte(start + i) != word[i]) {
                return false;
            }
        }
        return true;
    }
}
