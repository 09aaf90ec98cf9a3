package dev.magent.protocol.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Proves the guard fails on a leak: leaks one buffer on purpose and watches the guard's check fail. */
class LeakGuardTest {
    @Test
    void aLeakedBufferFailsTheCheck() {
        // leaks from elsewhere must not be mistaken for this one, nor hidden by it
        assertTrue(LeakGuard.provokeDetection(), "the canary was not reported");
        assertEquals(List.of(), LeakGuard.takeReports(), "leaks from before this test");

        String marker = "deliberately leaked " + UUID.randomUUID();
        leakOne(marker);

        AssertionError failure = assertThrows(AssertionError.class, () -> LeakGuard.assertNoLeaks("the leak"));
        assertTrue(failure.getMessage().contains(marker), failure.getMessage());
        assertTrue(failure.getMessage().startsWith("1 buffer leak(s) found after the leak"), failure.getMessage());
        // the check consumed the report, so this class passes its own afterAll check
        assertEquals(List.of(), LeakGuard.takeReports());
    }

    @Test
    void releasedBuffersAreNotReported() {
        ByteBuf fine = PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
        fine.release();
        LeakGuard.assertNoLeaks("a released buffer");
    }

    private static void leakOne(String marker) {
        ByteBuf leaked = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        leaked.writeLong(42);
        leaked.touch(marker);
        // never released: the guard must notice
    }
}
