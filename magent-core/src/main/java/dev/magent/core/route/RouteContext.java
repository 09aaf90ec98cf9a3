package dev.magent.core.route;

import dev.magent.core.ProxyStats;
import dev.magent.core.ServerAddress;
import dev.magent.core.backend.Backend;
import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.CommandKeys;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.GatedBackend;
import dev.magent.core.backend.KeyStripes;
import dev.magent.core.backend.SuspicionGate;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Keys;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every route of one event loop shares: the cluster (where a key's copies are), each server's gated
 * backend, the counters, and the bookkeeping of failures (counting, hinting, the "no server available"
 * error). Used on its loop only; a reload swaps the cluster there.
 */
final class RouteContext {
    private static final Logger log = LoggerFactory.getLogger(RouteContext.class);

    private Cluster cluster;
    private boolean readRepair;
    private GatedBackend[] gated;
    private final Backends pools;
    private final ProxyStats stats;
    /** Mutations routed while a route waits to write a copy late (see {@link LaterWrites}). */
    private final LaterWrites laterWrites = new LaterWrites();
    /** Shared by the loops of a proxy; null for a router of its own (tests, benchmarks). */
    private KeyLeases leases;
    private int loopIndex;
    /** Tells other proxies about copies that missed writes before those writes are acknowledged. */
    private SuspicionGate gate = SuspicionGate.NONE;
    private EventExecutor executor;

    RouteContext(Cluster cluster, Backends pools, ProxyStats stats, boolean readRepair) {
        this.pools = pools;
        this.stats = stats;
        reconfigure(cluster, readRepair);
    }

    void reconfigure(Cluster next, boolean nextReadRepair) {
        GatedBackend[] g = new GatedBackend[next.size()];
        for (int i = 0; i < g.length; i++) {
            g[i] = new GatedBackend(next.server(i), pools);
        }
        this.gated = g;
        this.cluster = next;
        this.readRepair = nextReadRepair;
    }

    Cluster cluster() {
        return cluster;
    }

    boolean readRepair() {
        return readRepair;
    }

    ProxyStats stats() {
        return stats;
    }

    /**
     * Sends as a client request: gated by the server's health and hints. Takes ownership. A mutation holds
     * its key's lease for this loop until the server has answered it (see {@link KeyLeases}): a write sent
     * from the completion of another (a correction, a cas's copies) is sent before that one lets go.
     */
    void send(BackendServer server, Command command, Completion completion) {
        KeyLeases l = leases;
        if (l != null && command.verb().intent() == Verb.Intent.WRITE) {
            byte[] key = CommandKeys.keyOf(command);
            if (key != null) {
                int stripe = KeyStripes.of(key);
                l.enter(stripe, loopIndex);
                completion = completion instanceof WriteLeg leg ? leg.leased(l, stripe) : new Leased(completion, l, stripe);
            }
        }
        gated[server.id()].send(command, completion);
    }

    /** Takes part in the leases of keys shared by every loop, as loop {@code index}. */
    void joinLeases(KeyLeases shared, int index) {
        this.leases = shared;
        this.loopIndex = index;
    }

    /** Acknowledges writes only once other proxies can know what they missed (see {@link SuspicionGate}). */
    void joinSuspicions(SuspicionGate shared, EventExecutor loop) {
        this.gate = shared;
        this.executor = loop;
    }

    /**
     * Hands a write's reply to the client once the other proxies can know that {@code missed} missed the
     * write (so none of them reads it there afterwards); if that could not be recorded anywhere, the client
     * gets {@code SERVER_ERROR} instead: the write reached another copy, but it is not acknowledged.
     */
    /** Whether other proxies exist that could read a copy this proxy's write has not reached yet. */
    boolean alone() {
        return gate.alone();
    }

    void acknowledgeAfter(BackendServer missed, Reply reply, Completion sink) {
        if (gate.alone()) {
            sink.accept(reply, null);
            return;
        }
        gate.whenVisible(missed, executor, () -> sink.accept(reply, null), () -> {
            ReferenceCountUtil.release(reply);
            stats.unavailable();
            sink.accept(ErrorReply.server("write not acknowledged: " + missed
                    + " missed it and no server could record that for the other proxies"), null);
        });
    }

    /** A completion that lets its key's lease go once it has run (and sent whatever it sends). */
    private record Leased(Completion inner, KeyLeases leases, int stripe) implements Completion {
        @Override
        public void accept(Reply reply, Throwable failure) {
            try {
                inner.accept(reply, failure);
            } finally {
                leases.release(stripe);
            }
        }
    }

    /** The server's gated backend. */
    Backend backend(BackendServer server) {
        return gated[server.id()];
    }

    LaterWrites laterWrites() {
        return laterWrites;
    }

    /**
     * A late write to a copy (a correction, a refill, a cas's copy) not sent because the key was written
     * after the route began: that write went to the copy first, so this one would land after it. The copy
     * is hinted instead, and rewritten from a copy in service by the hint sweep.
     */
    void lateWriteSuperseded(BackendServer server, byte[] key) {
        server.hints().record(key);
        takeOutIfOverflowed(server);
        if (log.isDebugEnabled()) {
            log.debug("{}: key {} written meanwhile, hinted instead of corrected", server, printable(key));
        }
    }

    // ---- failures ------------------------------------------------------------------------------------

    /** A write the server did not get: counted, and hinted so that its copy is fixed when it returns. */
    BackendException missed(BackendServer server, byte[] key, Throwable failure) {
        BackendException e = noteFailure(failure);
        hint(server, key, e);
        return e;
    }

    /** Hints a write the server missed (counted already). */
    static void hint(BackendServer server, byte[] key, BackendException cause) {
        if (cause.reason() != BackendException.Reason.SHUTDOWN) {
            server.hints().record(key);
            takeOutIfOverflowed(server);
        }
    }

    /**
     * A server in service whose hint log overflowed has missed writes nobody can list any more: it cannot
     * serve reads until it is flushed and resynced, which is what rejoining does with an overflowed log.
     */
    static void takeOutIfOverflowed(BackendServer server) {
        if (server.hints().overflowed() && server.state() == BackendServer.State.UP) {
            server.markDown("missed more writes than its hint log holds");
        }
    }

    /** Counts a failure (a skipped request to a down server is not one) and returns it as a BackendException. */
    BackendException noteFailure(Throwable failure) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        BackendException e = t instanceof BackendException b ? b
                : new BackendException(BackendException.Reason.CONNECTION, new ServerAddress("unknown", 1),
                        String.valueOf(t));
        if (!(t instanceof BackendException)) {
            log.error("unexpected failure in a route", t);
        }
        if (e.reason() != BackendException.Reason.DOWN) {
            stats.backendFailure(e);
        }
        return e;
    }

    /** A reply that is not what the request expects, as a failure of that server. */
    static BackendException badReply(BackendServer server, Reply r) {
        String what = r instanceof ErrorReply e ? e.kind() + " " + e.message() : String.valueOf(r);
        ReferenceCountUtil.release(r);
        return new BackendException(BackendException.Reason.PROTOCOL, server.address(), "answered " + what);
    }

    /**
     * The outcome of a write to a copy whose answer the client does not get: a failure (already hinted by
     * {@link #missed}) or an error reply counts as a backup write error; it is not reported to the client,
     * whose write succeeded on an earlier copy.
     */
    void copyWriteDone(BackendServer copy, Reply reply, Throwable failure) {
        if (failure != null) {
            stats.backupWriteError();
            if (log.isDebugEnabled()) {
                log.debug("write to {} failed: {}", copy, failure.getMessage());
            }
            return;
        }
        if (reply instanceof ErrorReply e) {
            stats.backupWriteError();
            log.debug("write to {} answered {} {}", copy, e.kind(), e.message());
        }
        ReferenceCountUtil.release(reply);
    }

    /** A completion for a write to a copy nobody waits for: hinted and counted if it fails. */
    Completion copyWrite(BackendServer copy, byte[] key) {
        return (reply, failure) -> copyWriteDone(copy, reply, failure == null ? null : missed(copy, key, failure));
    }

    /**
     * {@code SERVER_ERROR no server available for key <key>: main <addr> <why>, backup <addr> <why>...}:
     * every copy tried, in order, with why it could not answer.
     */
    ErrorReply unavailable(byte[] key, List<BackendServer> servers, List<BackendException> causes) {
        stats.unavailable();
        StringBuilder sb = new StringBuilder("no server available for key ").append(printable(key)).append(": ");
        for (int i = 0; i < servers.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(servers.get(i)).append(' ').append(why(causes.get(i)));
        }
        return ErrorReply.server(sb.toString());
    }

    ErrorReply unavailable(byte[] key, BackendServer server, BackendException cause) {
        return unavailable(key, List.of(server), java.util.Collections.singletonList(cause));
    }

    private static String why(BackendException e) {
        if (e == null) {
            return "failed";
        }
        return switch (e.reason()) {
            case DOWN -> "is down";
            case TIMEOUT -> "timed out";
            case CONNECTION -> "unreachable";
            case PROTOCOL -> "sent a bad reply";
            case LOCAL -> "could not be answered (proxy out of memory)";
            case SHUTDOWN -> "shutting down";
            case REMOVED -> "was removed from the configuration";
        };
    }

    private static String printable(byte[] key) {
        String s = Keys.toString(key);
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
