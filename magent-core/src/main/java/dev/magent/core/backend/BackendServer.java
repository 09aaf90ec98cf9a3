package dev.magent.core.backend;

import dev.magent.core.LatencyHistogram;
import dev.magent.core.Role;
import dev.magent.core.ServerAddress;
import dev.magent.core.recovery.HealthProber;
import dev.magent.core.recovery.HintLog;
import dev.magent.core.recovery.ResyncProgress;
import dev.magent.core.recovery.VerifyProgress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One memcached server as the whole proxy sees it: its address and role, its health, its counters.
 * Shared by every event loop, so its state is atomic; connections to it are per event loop.
 */
public final class BackendServer {
    private static final Logger log = LoggerFactory.getLogger(BackendServer.class);

    /** Whether the server is in service. */
    public enum State {
        /** Serving reads and writes. */
        UP,
        /** Not answering: skipped without waiting and probed until it answers again. */
        DOWN,
        /**
         * Answering again but being brought up to date. Neither serves reads nor takes client writes yet:
         * writes meanwhile go to the other copy and are hinted, so the catch-up converges.
         */
        SYNCING
    }

    /** Told when a server stops or resumes serving; called on an arbitrary thread. */
    public interface StateListener {
        void stateChanged(BackendServer server, State from, State to);
    }

    private final int id;
    private final int indexInRole;
    private final int pool;
    private final Role role;
    private final ServerAddress address;
    private final int weight;
    private final int failureThreshold;
    private final Health h;
    private final BackendException downException;
    private final BackendException staleException;

    /**
     * Everything that outlives a configuration reload: a server that stays in the list keeps its state,
     * hints and counters when the rings are rebuilt.
     */
    public static final class Health {
        private final AtomicReference<State> state = new AtomicReference<>(State.UP);
        private final AtomicInteger consecutiveFailures = new AtomicInteger();
        private volatile long stateSinceMillis = System.currentTimeMillis();
        private volatile long downSinceMillis;
        private final HintLog hints;
        private final LongAdder requests = new LongAdder();
        private final LongAdder failures = new LongAdder();
        private final AtomicInteger openConnections = new AtomicInteger();
        private volatile HealthProber.ServerIdentity identity;
        private volatile StateListener listener = (s, from, to) -> { };
        private final ResyncProgress resync = new ResyncProgress();
        private final VerifyProgress verify = new VerifyProgress();
        private final LatencyHistogram latency = new LatencyHistogram();
        private volatile boolean recordingWrites;
        private volatile java.util.function.Consumer<BackendServer> connectionLostListener = s -> { };
        private final java.util.concurrent.atomic.AtomicBoolean identityCheckRunning =
                new java.util.concurrent.atomic.AtomicBoolean();
        private volatile boolean identitySuspect;
        /** False while another proxy's record says this server missed writes, or this proxy cannot know. */
        private volatile boolean readableForOthers = true;
        private volatile Suspicion suspicion = Suspicion.NONE;
        /** System.nanoTime() from which this proxy's own suspicion is visible to every proxy; 0: not recorded. */
        private volatile long suspicionVisibleAtNanos;

        Health(int hintCapacity) {
            this.hints = new HintLog(hintCapacity);
        }
    }

    BackendServer(int id, int indexInRole, Role role, ServerAddress address, int failureThreshold,
                  int hintCapacity) {
        this(id, indexInRole, role, address, 1, failureThreshold, new Health(hintCapacity));
    }

    BackendServer(int id, int indexInRole, Role role, ServerAddress address, int weight, int failureThreshold,
                  Health health) {
        this(id, role == Role.MAIN ? 0 : 1, indexInRole, address, weight, failureThreshold, health);
    }

    /** A server of pool {@code pool} (0: the mains; 1, 2, ...: the backup pools in order). */
    BackendServer(int id, int pool, int indexInRole, ServerAddress address, int weight, int failureThreshold,
                  Health health) {
        Role role = pool == 0 ? Role.MAIN : Role.BACKUP;
        this.pool = pool;
        this.h = health;
        this.weight = weight;
        this.id = id;
        this.indexInRole = indexInRole;
        this.role = role;
        this.address = address;
        this.failureThreshold = failureThreshold;
        this.downException = new BackendException(BackendException.Reason.DOWN, address, "marked down");
        this.staleException = new BackendException(BackendException.Reason.DOWN, address,
                "holds a stale copy of this key");
    }

    /** Position among all servers, mains first: indexes per-loop connection pools. */
    public int id() {
        return id;
    }

    /** Position in its role's list, 0-based, as given on the command line. */
    public int indexInRole() {
        return indexInRole;
    }

    public Role role() {
        return role;
    }

    /** Its pool: 0 for the mains, then 1, 2, ... for the backup pools in the order configured. */
    public int pool() {
        return pool;
    }

    /** Its ketama weight in its ring, 1 unless configured otherwise. */
    public int weight() {
        return weight;
    }

    /** Keys whose copy here is known stale (writes it missed), waiting to be rewritten. */
    public int hintedKeys() {
        return h.hints.size();
    }

    /**
     * Whether it missed more writes than the hint log holds: then it is flushed and resynced in full when
     * it returns.
     */
    public boolean hintsOverflowed() {
        return h.hints.overflowed();
    }

    public ServerAddress address() {
        return address;
    }

    public State state() {
        return h.state.get();
    }

    /** Milliseconds since the epoch when the state last changed. */
    public long stateSinceMillis() {
        return h.stateSinceMillis;
    }

    public long requests() {
        return h.requests.sum();
    }

    public long failures() {
        return h.failures.sum();
    }

    /** Open connections to this server over all event loops. */
    public int openConnections() {
        return h.openConnections.get();
    }

    /**
     * Whether reads may go here now: in service, and no other proxy has recorded that it missed writes
     * (see {@link #suspicion}).
     */
    public boolean servesReads() {
        return h.state.get() == State.UP && h.readableForOthers;
    }

    /**
     * What the other proxies' records say about this server (docs/partitions.md).
     *
     * @param by          the proxies that recorded they failed writes over away from it (not this one)
     * @param sinceMillis when this proxy first saw the current suspicion, 0 if none
     * @param viewStale   this proxy could not read the records lately, so it cannot rule a suspicion out
     */
    public record Suspicion(java.util.List<String> by, long sinceMillis, boolean viewStale) {
        public static final Suspicion NONE = new Suspicion(java.util.List.of(), 0, false);

        public Suspicion {
            by = java.util.List.copyOf(by);
        }

        /** Whether this proxy may read the server (as far as other proxies are concerned). */
        public boolean readable() {
            return by.isEmpty() && !viewStale;
        }
    }

    public Suspicion suspicion() {
        return h.suspicion;
    }

    /** Set by the proxy's suspicion board after each look at the records. */
    public void suspicion(Suspicion seen) {
        Suspicion before = h.suspicion;
        h.suspicion = seen;
        h.readableForOthers = seen.readable();
        if (before.readable() != seen.readable()) {
            log.warn("{} server {} {}", role.label(), address, seen.readable() ? "may be read again: no proxy suspects it"
                    : seen.viewStale() ? "is not read: the suspicion records could not be read lately"
                    : "is not read: proxy " + String.join(", ", seen.by()) + " recorded that it missed writes");
        }
    }

    /** When this proxy's own suspicion of the server is visible to every proxy (System.nanoTime()); 0 if not recorded. */
    public long suspicionVisibleAtNanos() {
        return h.suspicionVisibleAtNanos;
    }

    public void suspicionVisibleAtNanos(long at) {
        h.suspicionVisibleAtNanos = at;
    }

    /** Whether client writes may go here now; writes it misses are hinted. */
    boolean takesWrites() {
        return h.state.get() == State.UP;
    }

    /** The keys of writes this server missed while out of service. */
    public HintLog hints() {
        return h.hints;
    }

    /** When the server was last marked down (milliseconds since the epoch), 0 if never. */
    public long downSinceMillis() {
        return h.downSinceMillis;
    }

    /** The shared failure for requests skipped because the server is down; stackless, so cheap to reuse. */
    public BackendException downException() {
        return downException;
    }

    /** Latency of this server's replies, measured from the request's write. */
    public LatencyHistogram latency() {
        return h.latency;
    }

    /**
     * While a resync copies keys to this server, every write sent here is also hinted, so that a write
     * racing the copy of the same key (the copy read the old value before the write and adds it after)
     * is rewritten when the resync ends.
     */
    public boolean recordingWrites() {
        return h.recordingWrites;
    }

    public void recordingWrites(boolean on) {
        h.recordingWrites = on;
    }

    /** The counts of this server's current or last {@code magent verify}. */
    public VerifyProgress verifyProgress() {
        return h.verify;
    }

    /** This server's catch-up progress (resync and hinted keys). */
    public ResyncProgress resyncProgress() {
        return h.resync;
    }

    /** The state to carry over to this server's successor after a reload. */
    public Health health() {
        return h;
    }

    /** Which memcached process answered last, or null if it never did. */
    public HealthProber.ServerIdentity identity() {
        return h.identity;
    }

    public void identity(HealthProber.ServerIdentity seen) {
        h.identity = seen;
    }

    /** The shared failure for a key whose copy here is hinted stale. */
    public BackendException staleException() {
        return staleException;
    }

    public void setListener(StateListener listener) {
        h.listener = listener;
    }

    void requestSent() {
        h.requests.increment();
    }

    void connectionOpened() {
        h.openConnections.incrementAndGet();
    }

    void connectionClosed() {
        h.openConnections.decrementAndGet();
    }

    /**
     * The server closed a connection on its own: it may have restarted. Who answers is checked now, and
     * again on the next successful connect if it did not answer yet (a restart in progress).
     */
    void connectionLost() {
        h.identitySuspect = true;
        h.connectionLostListener.accept(this);
    }

    /** A connection opened: if the server was suspected of restarting, check who answers. */
    void connectionEstablished() {
        if (h.identitySuspect) {
            h.connectionLostListener.accept(this);
        }
    }

    /** The identity check saw who answers: no longer suspect. */
    public void identityConfirmed() {
        h.identitySuspect = false;
    }

    public void setConnectionLostListener(java.util.function.Consumer<BackendServer> listener) {
        h.connectionLostListener = listener;
    }

    /** Claims the one identity check allowed at a time; false if one is running. */
    public boolean startIdentityCheck() {
        return h.identityCheckRunning.compareAndSet(false, true);
    }

    public void identityCheckDone() {
        h.identityCheckRunning.set(false);
    }

    /** A reply arrived: the run of failures is over. */
    void recordSuccess() {
        if (h.consecutiveFailures.get() != 0) {
            h.consecutiveFailures.set(0);
        }
    }

    /** A failure that says something about the server; marks it down at the threshold. */
    void recordFailure(BackendException cause) {
        h.failures.increment();
        if (h.consecutiveFailures.incrementAndGet() >= failureThreshold) {
            markDown(cause.getMessage());
        }
    }

    /** Takes the server out of service now; returns whether this call did it. */
    public boolean markDown(String why) {
        State before = h.state.get();
        if (before != State.DOWN && h.state.compareAndSet(before, State.DOWN)) {
            h.stateSinceMillis = System.currentTimeMillis();
            if (before == State.UP) {
                h.downSinceMillis = h.stateSinceMillis;
            }
            log.warn("{} server {} is DOWN: {}", role.label(), address, why);
            h.listener.stateChanged(this, before, State.DOWN);
            return true;
        }
        return false;
    }

    /** Moves a down server to syncing: it takes writes but does not serve reads yet. */
    public boolean markSyncing() {
        if (h.state.compareAndSet(State.DOWN, State.SYNCING)) {
            h.stateSinceMillis = System.currentTimeMillis();
            h.consecutiveFailures.set(0);
            log.info("{} server {} answers again; bringing it up to date before it serves reads ({} hinted keys{})",
                    role.label(), address, h.hints.size(), h.hints.overflowed() ? ", overflowed" : "");
            h.listener.stateChanged(this, State.DOWN, State.SYNCING);
            return true;
        }
        return false;
    }

    /**
     * Returns a server being brought up to date to full service; false if it is no longer syncing (it
     * went down again meanwhile, perhaps restarted: its catch-up is void and a newer one decides).
     */
    public boolean markUpIfSyncing() {
        if (h.state.compareAndSet(State.SYNCING, State.UP)) {
            h.stateSinceMillis = System.currentTimeMillis();
            h.consecutiveFailures.set(0);
            log.info("{} server {} is UP", role.label(), address);
            h.listener.stateChanged(this, State.SYNCING, State.UP);
            return true;
        }
        return false;
    }

    /** Returns the server to full service. */
    public boolean markUp() {
        State before = h.state.get();
        if (before != State.UP && h.state.compareAndSet(before, State.UP)) {
            h.stateSinceMillis = System.currentTimeMillis();
            h.consecutiveFailures.set(0);
            log.info("{} server {} is UP", role.label(), address);
            h.listener.stateChanged(this, before, State.UP);
            return true;
        }
        return false;
    }

    @Override
    public String toString() {
        return role.label() + " " + address;
    }
}
