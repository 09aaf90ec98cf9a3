package dev.magent.bench;

import dev.magent.core.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What every benchmark here shares: average time per operation in nanoseconds, two forks on the collector
 * and heap bounds bin/magent starts the daemon with, and the inputs of the load test (32-byte keys).
 *
 * <p>The forks run Netty's buffers as the daemon does: the pooled allocator (direct buffers for I/O) and no
 * leak detection.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms128m", "-Xmx128m", "-XX:+UseSerialGC", "-Dio.netty.allocator.type=pooled",
    "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public abstract class HotPathBenchmark {
    /** Key length of the load test's workload (memaslap's config: 32 32 1). */
    static final int KEY_LENGTH = 32;

    /** The allocator the proxy's channels use (Transport.ALLOCATOR in magent-core). */
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    /** {@code count} distinct printable keys of {@link #KEY_LENGTH} bytes, the same for every run. */
    static byte[][] keys(int count) {
        SplittableRandom random = new SplittableRandom(42);
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        byte[][] keys = new byte[count][];
        for (int i = 0; i < count; i++) {
            StringBuilder sb = new StringBuilder(KEY_LENGTH).append(String.format("k%07d:", i));
            while (sb.length() < KEY_LENGTH) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            keys[i] = sb.toString().getBytes(StandardCharsets.US_ASCII);
        }
        return keys;
    }

    /** A direct buffer from the proxy's allocator holding {@code length} bytes of printable data. */
    static ByteBuf data(int length) {
        ByteBuf buf = ALLOC.directBuffer(length);
        for (int i = 0; i < length; i++) {
            buf.writeByte('a' + i % 26);
        }
        return buf;
    }
}
