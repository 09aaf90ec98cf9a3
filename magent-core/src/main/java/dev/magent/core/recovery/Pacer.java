package dev.magent.core.recovery;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Runs recovery work items (one key copy each) at most {@code perSecond} per second and
 * {@link #MAX_IN_FLIGHT} at once, on one event loop, so a resync never crowds out client traffic.
 * Completes when the source has ended and every item finished.
 */
final class Pacer {
    static final int MAX_IN_FLIGHT = 64;
    private static final long TICK_MILLIS = 50;

    private final Iterator<?> items;
    @SuppressWarnings("rawtypes")
    private final Function work;
    private final CompletableFuture<Void> done;
    private final double perTick;
    private double allowance;
    private int inFlight;
    private boolean sourceEnded;
    private final ScheduledFuture<?> ticker;

    <T> Pacer(EventLoop loop, int perSecond, Iterator<T> items, Function<T, CompletableFuture<?>> work,
              CompletableFuture<Void> done) {
        this.items = items;
        this.work = work;
        this.done = done;
        this.perTick = Math.max(1.0, perSecond * TICK_MILLIS / 1000.0);
        this.allowance = perTick;
        this.ticker = loop.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Runs every item of a finished list. */
    static <T> CompletableFuture<Void> pace(EventLoop loop, int perSecond, Iterator<T> items,
                                            Function<T, CompletableFuture<?>> work) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        new Pacer(loop, perSecond, items, work, done).sourceEnded();
        return done;
    }

    private void tick() {
        allowance = Math.min(perTick * 2, allowance + perTick);
        kick();
    }

    /** No more items will be added to the iterator. */
    void sourceEnded() {
        sourceEnded = true;
        kick();
    }

    void fail(Throwable cause) {
        ticker.cancel(false);
        done.completeExceptionally(cause);
    }

    /** Starts what the allowance and the in-flight limit permit. */
    @SuppressWarnings("unchecked")
    void kick() {
        if (done.isDone()) {
            return;
        }
        while (allowance >= 1 && inFlight < MAX_IN_FLIGHT && items.hasNext()) {
            allowance -= 1;
            inFlight++;
            ((CompletableFuture<?>) work.apply(items.next())).whenComplete((v, f) -> {
                inFlight--;
                kick();
            });
        }
        if (sourceEnded && inFlight == 0 && !items.hasNext()) {
            ticker.cancel(false);
            done.complete(null);
        }
    }
}
