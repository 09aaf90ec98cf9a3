package dev.magent.protocol.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that fails a test class when Netty's leak detector reports a buffer that was never
 * released. After each test class it collects garbage and allocates until its own canaries (buffers dropped
 * on purpose, with a marked hint) have been reported, so every leak from before is reported too (see
 * {@link #provokeDetection()}); any other report fails the class with the leak's access records.
 *
 * <p>To use it in a module: depend on magent-protocol's {@code test-jar} (test scope), list
 * {@code dev.magent.protocol.testing.LeakGuard} in {@code src/test/resources/META-INF/services/
 * org.junit.jupiter.api.extension.Extension} and set {@code junit.jupiter.extensions.autodetection.enabled=true}
 * in {@code src/test/resources/junit-platform.properties}; or annotate a class with
 * {@code @ExtendWith(LeakGuard.class)}. The guard turns leak detection to {@code PARANOID} (every buffer
 * tracked) if the JVM was started with less.
 *
 * <p>How reports reach it: it installs a {@link ResourceLeakDetectorFactory} whose detectors pass every
 * report to the guard (whatever the logging configuration). If the buffer classes were initialised before
 * the guard loaded, it attaches a {@link ResourceLeakDetector.LeakListener} to the existing buffer detector
 * instead.
 */
public final class LeakGuard implements AfterAllCallback {
    private static final String CANARY = "LeakGuard canary #";
    private static final long CANARY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(20);

    private static final List<String> REPORTS = new ArrayList<>();
    private static final Set<String> CANARIES_SEEN = ConcurrentHashMap.newKeySet();
    private static final AtomicLong CANARY_IDS = new AtomicLong();
    private static volatile boolean byteBufDetectorHooked;
    private static final String SETUP_PROBLEM;

    static {
        if (ResourceLeakDetector.getLevel().compareTo(ResourceLeakDetector.Level.PARANOID) < 0) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ReportingFactory());
        PooledByteBufAllocator.DEFAULT.heapBuffer(1).release(); // initialises the buffer classes now
        SETUP_PROBLEM = byteBufDetectorHooked ? null : hookExistingByteBufDetector();
    }

    /** Where every report arrives. */
    private static void onLeak(String resourceType, String records) {
        int at = records.indexOf(CANARY);
        if (at >= 0) {
            int end = at + CANARY.length();
            while (end < records.length() && Character.isDigit(records.charAt(end))) {
                end++;
            }
            CANARIES_SEEN.add(records.substring(at, end));
            return;
        }
        synchronized (REPORTS) {
            REPORTS.add(resourceType + " leaked (never released). Recent access records:" + records);
        }
    }

    /**
     * Makes the leak detector report now every buffer that became unreachable without being released:
     * collects garbage and allocates until a canary dropped on purpose has been reported, twice. The second
     * canary is found by a later collection than the first; the JVM hands over the references each
     * collection found as one batch, so by then every buffer found with or before the first canary has been
     * reported too. Bounded by 20 s per canary; returns false if a canary never came (reports may then be
     * incomplete).
     */
    public static boolean provokeDetection() {
        return awaitCanary() && awaitCanary();
    }

    private static boolean awaitCanary() {
        String canary = plantCanary();
        long start = System.nanoTime();
        do {
            System.gc();
            for (int i = 0; i < 16; i++) {
                // every tracked allocation makes the detector drain its queue of collected buffers
                PooledByteBufAllocator.DEFAULT.heapBuffer(1).release();
            }
            if (CANARIES_SEEN.remove(canary)) {
                return true;
            }
            Thread.yield();
        } while (System.nanoTime() - start < CANARY_WAIT_NANOS);
        return false;
    }

    private static String plantCanary() {
        String canary = CANARY + CANARY_IDS.incrementAndGet();
        // pooled: Netty 4.2 tracks pooled buffers and unpooled direct ones, not unpooled heap buffers
        ByteBuf dropped = PooledByteBufAllocator.DEFAULT.heapBuffer(1);
        dropped.touch(canary);
        return canary; // "dropped" is unreachable from here on, never released
    }

    /** The leak reports received so far, which the guard forgets. */
    public static List<String> takeReports() {
        synchronized (REPORTS) {
            List<String> copy = List.copyOf(REPORTS);
            REPORTS.clear();
            return copy;
        }
    }

    /**
     * Fails if any buffer leaked: provokes detection, then throws an {@link AssertionError} listing every
     * report (and forgets them).
     *
     * @param where what ran, for the message
     */
    public static void assertNoLeaks(String where) {
        if (SETUP_PROBLEM != null) {
            throw new AssertionError("LeakGuard cannot see leak reports: " + SETUP_PROBLEM);
        }
        boolean complete = provokeDetection();
        List<String> reports = takeReports();
        if (!reports.isEmpty()) {
            throw new AssertionError(reports.size() + " buffer leak(s) found after " + where + ":\n"
                    + String.join("\n\n", reports));
        }
        if (!complete) {
            System.err.println("LeakGuard: the garbage collector did not report the canary within 20 s after "
                    + where + "; leaks may go unreported");
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        assertNoLeaks(context.getDisplayName());
    }

    /** Attaches the guard to a buffer leak detector made before the guard's factory was installed. */
    private static String hookExistingByteBufDetector() {
        try {
            Field field = Class.forName("io.netty.buffer.AbstractByteBuf").getDeclaredField("leakDetector");
            field.setAccessible(true);
            ((ResourceLeakDetector<?>) field.get(null)).setLeakListener(LeakGuard::onLeak);
            byteBufDetectorHooked = true;
            return null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "the buffer classes were initialised before the guard and their detector is unreachable ("
                    + e + "); register the guard earlier";
        }
    }

    /** Makes detectors that always report, to the guard, whatever the logger's level. */
    private static final class ReportingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation")
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                  long maxActive) {
            ResourceLeakDetector<T> detector = new ResourceLeakDetector<>(resource, samplingInterval) {
                @Override
                protected boolean needReport() {
                    return true;
                }

                @Override
                protected void reportTracedLeak(String resourceType, String records) {
                    // the guard reports it, with the records, in the failure of the test class
                }

                @Override
                protected void reportUntracedLeak(String resourceType) {
                    // likewise
                }
            };
            detector.setLeakListener(LeakGuard::onLeak);
            if (resource == ByteBuf.class) {
                byteBufDetectorHooked = true;
            }
            return detector;
        }
    }
}
