package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LatencyHistogramTest {
    @Test
    void bucketsAreMonotonicAndBoundTheirValues() {
        int previous = -1;
        for (long micros = 1; micros < 60_000_000L; micros = micros * 11 / 10 + 1) {
            int b = LatencyHistogram.bucket(micros);
            assertTrue(b >= previous, "bucket order at " + micros);
            assertTrue(LatencyHistogram.upperMicros(b) >= micros, "upper bound of bucket " + b + " for " + micros);
            assertTrue(LatencyHistogram.upperMicros(b) <= micros * 1.6 + 1, "bucket " + b + " too wide for " + micros);
            previous = b;
        }
    }

    @Test
    void percentiles() {
        LatencyHistogram h = new LatencyHistogram();
        assertEquals(0, h.percentileMicros(0.99));
        for (int i = 1; i <= 1000; i++) {
            h.record(i * 1000L); // 1..1000 µs
        }
        assertEquals(1000, h.count());
        long p50 = h.percentileMicros(0.5);
        long p99 = h.percentileMicros(0.99);
        assertTrue(p50 >= 500 && p50 <= 700, "p50 " + p50);
        assertTrue(p99 >= 990 && p99 <= 1300, "p99 " + p99);
        assertEquals(500.5, h.meanMicros(), 0.01);
    }
}
