package dev.magent.protocol.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty's leak detector reported a buffer that was never released while it ran.
 * Registered for every test through JUnit's extension autodetection; it installs its own leak detector
 * factory before any buffer class is loaded, so every report reaches it. Run the tests with
 * {@code -Dio.netty.leakDetection.level=paranoid} (the build does) so that every buffer is tracked.
 */
public final class LeakGuard implements AfterAllCallback {
    private static final List<String> REPORTS = new CopyOnWriteArrayList<>();

    static {
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            @SuppressWarnings("deprecation")
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                      long maxActive) {
                return new ResourceLeakDetector<>(resource, samplingInterval) {
                    @Override
                    protected void reportTracedLeak(String resourceType, String records) {
                        REPORTS.add(resourceType + " leaked:" + records);
                    }

                    @Override
                    protected void reportUntracedLeak(String resourceType) {
                        REPORTS.add(resourceType + " leaked (untraced)");
                    }
                };
            }
        });
    }

    /** Collects garbage and allocates, so that leaked buffers are found and reported now. */
    public static void provokeDetection() {
        for (int i = 0; i < 5; i++) {
            System.gc();
            System.runFinalization();
            for (int j = 0; j < 200; j++) {
                ByteBuf a = PooledByteBufAllocator.DEFAULT.buffer(16);
                a.release();
                ByteBuf b = UnpooledByteBufAllocator.DEFAULT.buffer(16);
                b.release();
            }
        }
    }

    /** Reports so far, and forgets them (for the test that proves the guard works). */
    public static List<String> takeReports() {
        List<String> copy = List.copyOf(REPORTS);
        REPORTS.clear();
        return copy;
    }

    @Override
    public void afterAll(ExtensionContext context) {
        provokeDetection();
        List<String> reports = takeReports();
        if (!reports.isEmpty()) {
            throw new AssertionError(reports.size() + " buffer leak(s) in " + context.getDisplayName() + ":\n"
                    + String.join("\n", reports));
        }
    }
}
