package dev.magent.protocol;

import io.netty.buffer.ByteBuf;

/** Unsigned decimal numbers written straight into buffers, without going through a String. */
final class Decimal {
    private Decimal() {
    }

    /** How many digits {@code value}, read as unsigned 64-bit, takes. */
    static int length(long value) {
        if (value < 0) {
            return 20; // 2^63 and above: 19 digits end at 9.2e18, 2^64 - 1 has 20
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
