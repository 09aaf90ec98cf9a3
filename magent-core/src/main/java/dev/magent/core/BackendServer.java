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
        /** Answering again but being brought up to date: takes writes, does not serve reads yet. */
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
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final BackendException downException;
    private volatile StateListener listener = (s, from, to) -> { };

    BackendServer(int id, int indexInRole, Role role, ServerAddress address, int failureThreshold) {
        this.id = id;
        this.indexInRole = indexInRole;
        this.role = role;
        this.address = address;
        this.failureThreshold = failureThreshold;
        this.downException = new BackendException(BackendException.Reason.DOWN, address, "marked down");
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

    /** Whether writes may go here now (also while syncing, so that nothing written meanwhile is missed). */
    boolean takesWrites() {
        return state.get() != State.DOWN;
    }

    /** The shared failure for requests skipped because the server is down; stackless, so cheap to reuse. */
    BackendException downException() {
        return downException;
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
            log.info("{} server {} answers again; bringing it up to date before it serves reads",
                    role.label(), address);
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
