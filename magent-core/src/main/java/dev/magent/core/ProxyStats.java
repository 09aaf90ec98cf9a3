package dev.magent.core;

import dev.magent.core.backend.BackendException;
import dev.magent.protocol.Verb;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's own counters. Updated from every event loop; LongAdder keeps that free of shared locks and
 * of cache-line ping-pong on the hot path.
 */
public final class ProxyStats {
    private final long startedMillis = System.currentTimeMillis();
    private final AtomicInteger currentConnections = new AtomicInteger();
    private final LongAdder totalConnections = new LongAdder();
    private final LongAdder rejectedConnections = new LongAdder();
    private final LongAdder[] commands = new LongAdder[Verb.values().length];
    private final LongAdder getHits = new LongAdder();
    private final LongAdder getMisses = new LongAdder();
    private final LongAdder failovers = new LongAdder();
    private final LongAdder readRepairs = new LongAdder();
    private final LongAdder repairsCancelled = new LongAdder();
    private final LongAdder backupWriteErrors = new LongAdder();
    private final LongAdder backendTimeouts = new LongAdder();
    private final LongAdder backendErrors = new LongAdder();
    private final LongAdder protocolErrors = new LongAdder();
    private final LongAdder unavailable = new LongAdder();
    private final LongAdder clientsOverBufferLimit = new LongAdder();

    public ProxyStats() {
        for (int i = 0; i < commands.length; i++) {
            commands[i] = new LongAdder();
        }
    }

    /** Wall-clock start, for uptime. */
    public long startedMillis() {
        return startedMillis;
    }

    /** Counts a new client connection; returns the number now open. */
    public int connectionOpened() {
        totalConnections.increment();
        return currentConnections.incrementAndGet();
    }

    public void connectionClosed() {
        currentConnections.decrementAndGet();
    }

    public void connectionRejected() {
        rejectedConnections.increment();
    }

    public void command(Verb verb) {
        commands[verb.ordinal()].increment();
    }

    public void hits(int n) {
        getHits.add(n);
    }

    public void misses(int n) {
        getMisses.add(n);
    }

    public void failover() {
        failovers.increment();
    }

    public void readRepair() {
        readRepairs.increment();
    }

    /** A read-repair refill not sent, or taken back, because a client wrote the key after the read. */
    public void repairCancelled() {
        repairsCancelled.increment();
    }

    public void backupWriteError() {
        backupWriteErrors.increment();
    }

    public void backendFailure(BackendException e) {
        if (e.reason() == BackendException.Reason.TIMEOUT) {
            backendTimeouts.increment();
        } else {
            backendErrors.increment();
        }
    }

    /**
     * {@code stats reset}: zeroes the counters as memcached's stats_reset does, everything but the
     * connections open now and the start time (uptime keeps counting). Prometheus reads the same counters
     * and takes the drop as a counter reset.
     */
    public void reset() {
        totalConnections.reset();
        rejectedConnections.reset();
        for (LongAdder c : commands) {
            c.reset();
        }
        for (LongAdder c : new LongAdder[] {getHits, getMisses, failovers, readRepairs, repairsCancelled, backupWriteErrors,
            backendTimeouts, backendErrors, protocolErrors, unavailable}) {
            c.reset();
        }
    }

    public void protocolError() {
        protocolErrors.increment();
    }

    public void clientOverBufferLimit() {
        clientsOverBufferLimit.increment();
    }

    /** Clients disconnected for having more than the client buffer limit waiting in the proxy. */
    public long clientsOverBufferLimit() {
        return clientsOverBufferLimit.sum();
    }

    public void unavailable() {
        unavailable.increment();
    }

    public int currentConnections() {
        return currentConnections.get();
    }

    public long totalConnections() {
        return totalConnections.sum();
    }

    public long rejectedConnections() {
        return rejectedConnections.sum();
    }

    public long commands(Verb verb) {
        return commands[verb.ordinal()].sum();
    }

    public long getHits() {
        return getHits.sum();
    }

    public long getMisses() {
        return getMisses.sum();
    }

    public long failovers() {
        return failovers.sum();
    }

    public long readRepairs() {
        return readRepairs.sum();
    }

    /** Read-repair refills cancelled or undone because a client wrote, deleted or flushed the key since the read. */
    public long repairsCancelled() {
        return repairsCancelled.sum();
    }

    public long backupWriteErrors() {
        return backupWriteErrors.sum();
    }

    public long backendTimeouts() {
        return backendTimeouts.sum();
    }

    public long backendErrors() {
        return backendErrors.sum();
    }

    public long protocolErrors() {
        return protocolErrors.sum();
    }

    public long unavailableErrors() {
        return unavailable.sum();
    }
}
