package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Reply;

/**
 * One copy's request of a {@link ReplicatedWrite} and its outcome; the write itself is the main's leg
 * and links the others, so a replicated write allocates one small object per copy and nothing else
 * (the hot path's budget: as little as the main + backup callbacks it replaced).
 */
abstract class WriteLeg implements Completion {
    final BackendServer server;
    WriteLeg next;
    /** Null while waiting; then the {@link Reply}, or the {@link BackendException} (already counted and hinted). */
    Object outcome;

    WriteLeg(BackendServer server) {
        this.server = server;
    }

    abstract ReplicatedWrite write();

    boolean done() {
        return outcome != null;
    }

    boolean failed() {
        return outcome instanceof BackendException;
    }

    /** The key's lease this leg holds until answered (see KeyLeases), or null. */
    private KeyLeases leases;
    private int stripe;

    /** This leg, holding its key's lease: no object of its own, the hot path's budget. */
    WriteLeg leased(KeyLeases l, int s) {
        this.leases = l;
        this.stripe = s;
        return this;
    }

    @Override
    public void accept(Reply r, Throwable failure) {
        KeyLeases l = leases;
        leases = null;
        try {
            write().legDone(this, r, failure);
        } finally {
            if (l != null) {
                l.release(stripe);
            }
        }
    }

    /** A backup pool's leg. */
    static final class Copy extends WriteLeg {
        private final ReplicatedWrite write;

        Copy(ReplicatedWrite write, BackendServer server) {
            super(server);
            this.write = write;
        }

        @Override
        ReplicatedWrite write() {
            return write;
        }
    }
}
