package dev.magent.cli;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/** The counts of one soak phase (a fault, or the recovery after it): operations, errors, bad reads, latency. */
final class SoakPhase {
    final String name;
    final long startNanos = System.nanoTime();
    volatile long endNanos;
    final LongAdder writes = new LongAdder();
    final LongAdder writeErrors = new LongAdder();
    final LongAdder reads = new LongAdder();
    final LongAdder readErrors = new LongAdder();
    final LongAdder stale = new LongAdder();
    /** Stale reads of a value whose newer version was acknowledged through the other proxy. */
    final LongAdder staleCrossProxy = new LongAdder();
    final LongAdder missing = new LongAdder();
    final LongAdder bogus = new LongAdder();
    /** Acknowledged increments that a later increment's reply shows were lost. */
    final LongAdder lostIncrements = new LongAdder();
    /** The first few bad reads, described, for the report. */
    final Queue<String> samples = new ConcurrentLinkedQueue<>();
    private final Map<String, AtomicInteger> sampledByKind = new ConcurrentHashMap<>();
    /** The proxies' view of the servers when a fault phase ended, for the report. */
    volatile String proxiesAtEnd;
    final Latency writeLatency = new Latency();
    final Latency readLatency = new Latency();

    SoakPhase(String name) {
        this.name = name;
    }

    /** Keeps the first 5 of each kind (the text up to its first colon), so that rare kinds are not crowded out. */
    void sample(String badRead) {
        String kind = badRead.substring(0, Math.max(0, badRead.indexOf(':')));
        if (sampledByKind.computeIfAbsent(kind, k -> new AtomicInteger()).getAndIncrement() < 5) {
            samples.add(badRead);
        }
    }

    String report() {
        long end = endNanos == 0 ? System.nanoTime() : endNanos;
        return String.format("%-26s %5.1fs writes=%d errors=%d reads=%d errors=%d stale=%d (cross-proxy %d) missing=%d"
                        + " bogus=%d lost_incr=%d write_ms p50/p99/max=%s read_ms p50/p99/max=%s",
                name, (end - startNanos) / 1e9, writes.sum(), writeErrors.sum(), reads.sum(), readErrors.sum(),
                stale.sum(), staleCrossProxy.sum(), missing.sum(), bogus.sum(), lostIncrements.sum(),
                writeLatency.summary(), readLatency.summary());
    }

    /** A latency histogram with buckets growing by 25 %, from 10 µs to about 70 s. */
    static final class Latency {
        private static final double GROWTH = 1.25;
        private static final int BUCKETS = 72;
        private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
        private final LongAdder total = new LongAdder();
        private volatile long maxMicros;

        void record(long nanos) {
            long us = Math.max(1, TimeUnit.NANOSECONDS.toMicros(nanos));
            int b = (int) Math.min(BUCKETS - 1, Math.max(0, Math.log(us / 10.0) / Math.log(GROWTH) + 1));
            counts.incrementAndGet(b);
            total.increment();
            if (us > maxMicros) {
                maxMicros = us; // racy max: good enough for a report
            }
        }

        /** The upper bound of the bucket holding the q-quantile, in ms. */
        double quantileMillis(double q) {
            long n = total.sum();
            if (n == 0) {
                return 0;
            }
            long rank = (long) Math.ceil(q * n);
            long seen = 0;
            for (int b = 0; b < BUCKETS; b++) {
                seen += counts.get(b);
                if (seen >= rank) {
                    return 10 * Math.pow(GROWTH, b) / 1000.0;
                }
            }
            return maxMicros / 1000.0;
        }

        String summary() {
            return String.format("%.1f/%.1f/%.1f", quantileMillis(0.5), quantileMillis(0.99), maxMicros / 1000.0);
        }
    }
}
