package dev.magent.core;

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
    interface StateListener {
        void stateChanged(BackendServer server, State from, State to);
    }

    private final int id;
    private final int indexInRole;
    private final Role role;
    private final ServerAddress address;
    private final int failureThreshold;
    private final AtomicReference<State> state = new AtomicReference<>(State.UP);
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private volatile long stateSinceMillis = System.currentTimeMillis();
    private volatile long downSinceMillis;
    private final HintLog hints;
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final BackendException downException;
    private final BackendException staleException;
    private volatile HealthProber.ServerIdentity identity;
    private volatile StateListener listener = (s, from, to) -> { };

    BackendServer(int id, int indexInRole, Role role, ServerAddress address, int failureThreshold,
                  int hintCapacity) {
        this.hints = new HintLog(hintCapacity);
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
    int id() {
        return id;
    }

    /** Position in its role's list, 0-based, as given on the command line. */
    public int indexInRole() {
        return indexInRole;
    }

    public Role role() {
        return role;
    }

    public ServerAddress address() {
        return address;
    }

    public State state() {
        return state.get();
    }

    /** Milliseconds since the epoch when the state last changed. */
    public long stateSinceMillis() {
        return stateSinceMillis;
    }

    public long requests() {
        return requests.sum();
    }

    public long failures() {
        return failures.sum();
    }

    /** Open connections to this server over all event loops. */
    public int openConnections() {
        return openConnections.get();
    }

    /** Whether reads may go here now. */
    boolean servesReads() {
        return state.get() == State.UP;
    }

    /** Whether client writes may go here now; writes it misses are hinted. */
    boolean takesWrites() {
        return state.get() == State.UP;
    }

    /** The keys of writes this server missed while out of service. */
    HintLog hints() {
        return hints;
    }

    /** When the server was last marked down (milliseconds since the epoch), 0 if never. */
    long downSinceMillis() {
        return downSinceMillis;
    }

    /** The shared failure for requests skipped because the server is down; stackless, so cheap to reuse. */
    BackendException downException() {
        return downException;
    }

    /** Which memcached process answered last, or null if it never did. */
    HealthProber.ServerIdentity identity() {
        return identity;
    }

    void identity(HealthProber.ServerIdentity seen) {
        this.identity = seen;
    }

    /** The shared failure for a key whose copy here is hinted stale. */
    BackendException staleException() {
        return staleException;
    }

    void setListener(StateListener listener) {
        this.listener = listener;
    }

    void requestSent() {
        requests.increment();
    }

    void connectionOpened() {
        openConnections.incrementAndGet();
    }

    void connectionClosed() {
        openConnections.decrementAndGet();
    }

    /** A reply arrived: the run of failures is over. */
    void recordSuccess() {
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    /** A failure that says something about the server; marks it down at the threshold. */
    void recordFailure(BackendException cause) {
        failures.increment();
        if (consecutiveFailures.incrementAndGet() >= failureThreshold) {
            markDown(cause.getMessage());
        }
    }

    /** Takes the server out of service now; returns whether this call did it. */
    boolean markDown(String why) {
        State before = state.get();
        if (before != State.DOWN && state.compareAndSet(before, State.DOWN)) {
            stateSinceMillis = System.currentTimeMillis();
            if (before == State.UP) {
                downSinceMillis = stateSinceMillis;
            }
            log.warn("{} server {} is DOWN: {}", role.label(), address, why);
            listener.stateChanged(this, before, State.DOWN);
            return true;
        }
        return false;
    }

    /** Moves a down server to syncing: it takes writes but does not serve reads yet. */
    boolean markSyncing() {
        if (state.compareAndSet(State.DOWN, State.SYNCING)) {
            stateSinceMillis = System.currentTimeMillis();
            consecutiveFailures.set(0);
            log.info("{} server {} answers again; bringing it up to date before it serves reads ({} hinted keys{})",
                    role.label(), address, hints.size(), hints.overflowed() ? ", overflowed" : "");
            listener.stateChanged(this, State.DOWN, State.SYNCING);
            return true;
        }
        return false;
    }

    /** Returns the server to full service. */
    boolean markUp() {
        State before = state.get();
        if (before != State.UP && state.compareAndSet(before, State.UP)) {
            stateSinceMillis = System.currentTimeMillis();
            consecutiveFailures.set(0);
            log.info("{} server {} is UP", role.label(), address);
            listener.stateChanged(this, before, State.UP);
            return true;
        }
        return false;
    }

    @Override
    public String toString() {
        return role.label() + " " + address;
    }
}
