package dev.magent.protocol;

import io.netty.buffer.ByteBuf;

/** Unsigned decimal numbers written straight into buffers, without going through a String. */
final class Decimal {
    /** 10^19, the smallest 20-digit number, as an unsigned 64-bit value. */
    private static final long TEN_POW_19 = Long.parseUnsignedLong("10000000000000000000");

    private Decimal() {
    }

    /** How many digits {@code value}, read as unsigned 64-bit, takes. */
    static int length(long value) {
        if (value < 0) {
            // 2^63 (9223372036854775808) and above: 19 digits below 10^19, 20 from there to 2^64 - 1
            return Long.compareUnsigned(value, TEN_POW_19) >= 0 ? 20 : 19;
        }
        int digits = 1;
        for (long bound = 10; digits < 19 && value >= bound; bound *= 10) {
            digits++;
        }
        return digits;
    }

    /** Writes {@code value}, read as unsigned 64-bit, as ASCII digits. */
    static void write(ByteBuf out, long value) {
        int digits = length(value);
        int end = out.writerIndex() + digits;
        out.ensureWritable(digits);
        int i = end;
        // unsigned division keeps 2^63 and above right; the common small case stays a plain long loop
        if (value < 0) {
            long q = Long.divideUnsigned(value, 10);
            out.setByte(--i, (int) ('0' + (value - q * 10)));
            value = q;
        }
        do {
            out.setByte(--i, (int) ('0' + value % 10));
            value /= 10;
        } while (value != 0);
        out.writerIndex(end);
    }
}
