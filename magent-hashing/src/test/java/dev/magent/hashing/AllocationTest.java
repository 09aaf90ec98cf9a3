package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** indexFor is on every request's path: it must not allocate (counted per thread by the JVM, not timed). */
class AllocationTest {

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void indexForAllocatesNothing(Algorithm algorithm) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            servers.add(new Server("10.0.0." + (i + 1), 11211, 1 + i % 3));
        }
        Ring ring = Ring.of(algorithm, servers);
        byte[] keys = new byte[4096];
        new java.util.Random(1).nextBytes(keys);

        int sink = lookups(ring, keys, 50_000); // first use: the ThreadLocal's MD5, class loading
        long before = threads.getCurrentThreadAllocatedBytes();
        sink += lookups(ring, keys, 200_000);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        // a single byte per lookup would show as 200 kB; leave room for the measuring call itself
        assertTrue(allocated < 1024, allocated + " bytes allocated by 200000 lookups (" + sink + ")");
    }

    private static int lookups(Ring ring, byte[] keys, int count) {
        int sum = 0;
        for (int i = 0; i < count; i++) {
            sum += ring.indexFor(keys, i % 4000, 1 + i % 90);
        }
        return sum;
    }
}
