package dev.magent.core.recovery;

/**
 * Progress of the catch-up of one server, for stats and logs. Written by one event loop, read anywhere.
 */
public final class ResyncProgress {
    /** Where the server's catch-up stands. */
    public enum Phase { IDLE, FLUSHING, RESYNCING, HINTS, DONE, FAILED }

    private volatile Phase phase = Phase.IDLE;
    private volatile long scanned;
    private volatile long matched;
    private volatile long copied;
    private volatile long skipped;
    private volatile long failed;
    private volatile long cancelled;
    private volatile long hintsResolved;
    private volatile long startedMillis;
    private volatile long finishedMillis;
    private volatile int runs;

    void start(Phase p) {
        phase = p;
        scanned = 0;
        matched = 0;
        copied = 0;
        skipped = 0;
        failed = 0;
        cancelled = 0;
        startedMillis = System.currentTimeMillis();
        finishedMillis = 0;
        runs++;
    }

    void phase(Phase p) {
        phase = p;
    }

    void finish(boolean ok) {
        phase = ok ? Phase.DONE : Phase.FAILED;
        finishedMillis = System.currentTimeMillis();
    }

    // single writer (the catch-up's event loop), so plain increments of volatiles are safe
    void countScanned() {
        scanned++;
    }

    void countMatched() {
        matched++;
    }

    void countCopied() {
        copied++;
    }

    void countSkipped() {
        skipped++;
    }

    void countFailed() {
        failed++;
    }

    void countCancelled() {
        cancelled++;
    }

    void hintResolved() {
        hintsResolved++;
    }

    public Phase phase() {
        return phase;
    }

    /** Items listed by the sources' metadumps. */
    public long scanned() {
        return scanned;
    }

    /** Listed items that belong on this server. */
    public long matched() {
        return matched;
    }

    /** Items written to this server (add stored). */
    public long copied() {
        return copied;
    }

    /** Items not copied: gone from the source meanwhile, or already present (add not stored). */
    public long skipped() {
        return skipped;
    }

    /** Copies that failed on a timeout or connection error. */
    public long failedCopies() {
        return failed;
    }

    /** Copies not made, or taken back, because a client wrote, deleted or flushed the key after the read. */
    public long cancelled() {
        return cancelled;
    }

    /** Hinted keys rewritten from the other copy, over the proxy's lifetime. */
    public long hintsResolved() {
        return hintsResolved;
    }

    public long startedMillis() {
        return startedMillis;
    }

    public long finishedMillis() {
        return finishedMillis;
    }

    /** Catch-ups started, over the proxy's lifetime. */
    public int runs() {
        return runs;
    }

    @Override
    public String toString() {
        return "phase=" + phase.name().toLowerCase() + " runs=" + runs + " scanned=" + scanned + " matched=" + matched
                + " copied=" + copied + " skipped=" + skipped + " failed=" + failed + " cancelled=" + cancelled + " hints_resolved=" + hintsResolved;
    }
}
