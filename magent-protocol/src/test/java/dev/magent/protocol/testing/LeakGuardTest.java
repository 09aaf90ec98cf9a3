package dev.magent.protocol.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** Proves the guard sees a leak: leaks one buffer on purpose, finds the report, and clears it. */
class LeakGuardTest {
    @Test
    void aLeakedBufferIsReported() {
        leakOne();
        boolean found = false;
        for (int attempt = 0; attempt < 20 && !found; attempt++) {
            LeakGuard.provokeDetection();
            found = LeakGuard.takeReports().stream().anyMatch(r -> r.contains("leaked"));
        }
        assertFalse(!found, "the deliberately leaked buffer was not reported");
    }

    private static void leakOne() {
        ByteBuf leaked = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        leaked.writeLong(42);
        // no release: the guard must notice
    }
}
