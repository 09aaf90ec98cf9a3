package dev.magent.cli;

import java.util.BitSet;

/**
 * What every soak key may read. Each key has one writer thread, whose writes carry increasing versions:
 * a set writes {@code <version>:<key>:<padding>}, a counter's value is its version, a delete is a version
 * with no value. A write is <em>acknowledged</em> when a proxy answered it without error; one that failed
 * may or may not have happened, so its version is allowed until a later write is acknowledged (the rule of
 * FaultsUnderLoadIT). A read is checked against the versions acknowledged before it was sent and attempted
 * before its reply came: older than the first is stale, newer than the second is bogus.
 */
final class SoakModel {
    /** How a read compared with the model. */
    enum Verdict {
        OK,
        /** An older value than one acknowledged before the read was sent. */
        STALE,
        /** A miss where an acknowledged value (not a delete) should be. */
        MISSING,
        /** A value never written, or another key's value. */
        BOGUS
    }

    /** One key's history. Methods are synchronized: one writer, several readers, little contention. */
    static final class Key {
        final String name;
        final boolean counter;
        private long attempted;
        private long acked;
        private int ackedVia = -1;
        private final BitSet deletes = new BitSet();

        Key(String name, boolean counter) {
            this.name = name;
            this.counter = counter;
        }

        /** The version the next write carries; a counter's next incr expects this value. */
        synchronized long beginWrite(boolean delete) {
            attempted++;
            if (delete) {
                deletes.set((int) attempted);
            }
            return attempted;
        }

        /** A write of {@code version} through {@code proxy} was acknowledged. */
        synchronized void acked(long version, int proxy) {
            if (version > acked) {
                acked = version;
                ackedVia = proxy;
            }
        }

        synchronized long acked() {
            return acked;
        }

        synchronized int ackedVia() {
            return ackedVia;
        }

        /** Whether {@code version} was a delete. */
        synchronized boolean isDelete(long version) {
            return deletes.get((int) version);
        }

        synchronized long attempted() {
            return attempted;
        }

        /** The value a set of {@code version} writes. */
        String valueOf(long version) {
            return counter ? Long.toString(version) : version + ":" + name + ":" + "x".repeat((int) (version % 64));
        }

        /**
         * Checks a read: {@code ackedBefore} is {@link #acked()} read before sending it; {@code value} is
         * what it returned, null for a miss.
         */
        synchronized Verdict check(long ackedBefore, String value) {
            if (value == null) {
                if (ackedBefore == 0) {
                    return Verdict.OK; // never acknowledged: a miss is one of the possible states
                }
                int d = deletes.nextSetBit((int) ackedBefore);
                return d >= 0 && d <= attempted ? Verdict.OK : Verdict.MISSING;
            }
            long v = versionOf(value);
            if (v < 0 || v > attempted || (v > 0 && deletes.get((int) v))) {
                return Verdict.BOGUS;
            }
            return v < ackedBefore ? Verdict.STALE : Verdict.OK;
        }

        /** The version a value carries, or -1 when it is not one of this key's values. */
        long versionOf(String value) {
            try {
                if (counter) {
                    return Long.parseLong(value);
                }
                int colon = value.indexOf(':');
                long v = Long.parseLong(value.substring(0, colon));
                return value.equals(valueOf(v)) ? v : -1;
            } catch (RuntimeException e) {
                return -1;
            }
        }
    }

    private SoakModel() {
    }
}
