package dev.magent.core.recovery;

/**
 * The counts of a server's current or last {@code magent verify} run, for stats, {@code /metrics} and logs.
 * A difference is counted once per copy that differs from the key's authority (docs/semantics.md,
 * "Anti-entropy"). Written by the verify's event loop, read anywhere.
 */
public final class VerifyProgress {
    /** Where the server's verify stands. */
    public enum Phase { IDLE, RUNNING, DONE, FAILED }

    private volatile Phase phase = Phase.IDLE;
    private volatile long listed;
    private volatile long checked;
    private volatile long missing;
    private volatile long extra;
    private volatile long valueDiffers;
    private volatile long flagsDiffer;
    private volatile long repaired;
    private volatile long raced;
    private volatile long skipped;
    private volatile long failed;
    private volatile long rechecked;
    private volatile long startedMillis;
    private volatile long finishedMillis;
    private volatile int runs;

    void start() {
        phase = Phase.RUNNING;
        listed = 0;
        checked = 0;
        missing = 0;
        extra = 0;
        valueDiffers = 0;
        flagsDiffer = 0;
        repaired = 0;
        raced = 0;
        skipped = 0;
        failed = 0;
        rechecked = 0;
        startedMillis = System.currentTimeMillis();
        finishedMillis = 0;
        runs++;
    }

    void finish(boolean ok) {
        phase = ok ? Phase.DONE : Phase.FAILED;
        finishedMillis = System.currentTimeMillis();
    }

    // single writer (the verify's event loop), so plain increments of volatiles are safe
    void countListed() {
        listed++;
    }

    void countChecked() {
        checked++;
    }

    void count(CopyComparison.Difference d) {
        switch (d) {
            case MISSING -> missing++;
            case EXTRA -> extra++;
            case VALUE -> valueDiffers++;
            case FLAGS -> flagsDiffer++;
            case VALUE_AND_FLAGS -> {
                valueDiffers++;
                flagsDiffer++;
            }
            case SAME -> {
            }
        }
    }

    void countRepaired() {
        repaired++;
    }

    void countRaced() {
        raced++;
    }

    void countSkipped() {
        skipped++;
    }

    void countFailed() {
        failed++;
    }

    void countRechecked() {
        rechecked++;
    }

    public Phase phase() {
        return phase;
    }

    /** Keys the metadumps listed (the server's own, then the other copies' that belong on it). */
    public long listed() {
        return listed;
    }

    /** Keys whose copies were read and compared. */
    public long checked() {
        return checked;
    }

    /** Copies that lacked a key the authority holds. */
    public long missing() {
        return missing;
    }

    /** Copies that held a key the authority lacks. */
    public long extra() {
        return extra;
    }

    /** Copies whose value differed from the authority's, byte for byte. */
    public long valueDiffers() {
        return valueDiffers;
    }

    /** Copies whose client flags differed from the authority's. */
    public long flagsDiffer() {
        return flagsDiffer;
    }

    /** Differences written right (add, cas overwrite or cas delete applied). */
    public long repaired() {
        return repaired;
    }

    /** Repairs not applied because a client changed the key after verify read it (its write wins). */
    public long raced() {
        return raced;
    }

    /** Keys not compared: a copy was out of service or hinted for the key, or the key is not the server's. */
    public long skipped() {
        return skipped;
    }

    /** Reads or repairs that failed (timeout, connection error). */
    public long failed() {
        return failed;
    }

    /** Repaired keys compared again because their authority changed meanwhile. */
    public long rechecked() {
        return rechecked;
    }

    public long startedMillis() {
        return startedMillis;
    }

    public long finishedMillis() {
        return finishedMillis;
    }

    /** Milliseconds the current (so far) or last run took; 0 before the first. */
    public long durationMillis() {
        long start = startedMillis;
        if (start == 0) {
            return 0;
        }
        long end = finishedMillis;
        return (end == 0 ? System.currentTimeMillis() : end) - start;
    }

    /** Runs started, over the proxy's lifetime. */
    public int runs() {
        return runs;
    }

    @Override
    public String toString() {
        return "phase=" + phase.name().toLowerCase() + " runs=" + runs + " listed=" + listed + " checked=" + checked
                + " missing=" + missing + " extra=" + extra + " value_differs=" + valueDiffers + " flags_differ="
                + flagsDiffer + " repaired=" + repaired + " raced=" + raced + " skipped=" + skipped + " failed="
                + failed + " rechecked=" + rechecked + " duration_ms=" + durationMillis();
    }
}
