package dev.magent.core;

import dev.magent.protocol.Reply;

/**
 * One copy's request of a {@link ReplicatedWrite} and its outcome; the write itself is the main's leg,
 * and links the others, so a replicated write allocates one object per copy and nothing else.
 */
class WriteLeg implements Completion {
    final BackendServer server;
    private final ReplicatedWrite write;
    WriteLeg next;
    boolean done;
    Reply reply;
    /** Why the request failed (already counted and hinted), or null. */
    BackendException cause;

    WriteLeg(ReplicatedWrite write, BackendServer server) {
        this.write = write == null ? (ReplicatedWrite) this : write;
        this.server = server;
    }

    @Override
    public void accept(Reply r, Throwable failure) {
        done = true;
        reply = r;
        write.legDone(this, failure);
    }
}
