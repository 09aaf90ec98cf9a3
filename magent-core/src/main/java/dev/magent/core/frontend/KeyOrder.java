package dev.magent.core.frontend;

import dev.magent.core.backend.Completion;
import dev.magent.core.route.Router;

import dev.magent.core.backend.CommandKeys;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * One client connection's routing by key owner ({@link KeyOwners}): one order per key across every client
 * and loop. A mutation (set, add, replace, append, prepend, cas, incr, decr, delete, touch, ms, md, ma) is
 * routed by the loop that owns its key: at once when that is this client's loop, else handed to the owner
 * loop and its reply handed back. Reads stay on the client's loop, except while this client has requests
 * handed to another loop that are not answered yet: a one-key read then goes to its key's owner too, behind
 * the client's own writes (tasks run in the order they were handed over), and a multi-key read waits until
 * they are answered ({@link #mustWait}), so a client always reads its own writes. With a single copy of
 * every key there is no order to keep between copies, and everything is routed on the client's loop.
 *
 * <p>Used on the client's loop only. A request handed over costs one object (it is its own task both ways)
 * and two task hand-offs; requests routed at home cost nothing more. Flow control: a backend connection of
 * the owner loop does not hold a client of another loop (holding is per loop, without locks); the client's
 * window of requests in flight still bounds what it can have outstanding there.
 */
final class KeyOrder {
    private final KeyOwners owners;
    private final int home;
    private final Router homeRouter;
    private final Executor homeLoop;
    /** Called when the last request handed to another loop is answered: a waiting multi-key read may go. */
    private final Runnable drained;
    /** Requests handed to another loop and not answered yet. */
    private int elsewhere;

    KeyOrder(KeyOwners owners, int home, Runnable drained) {
        this.owners = owners;
        this.home = home;
        this.homeRouter = owners.router(home);
        this.homeLoop = owners.loop(home);
        this.drained = drained;
    }

    /**
     * Whether a request must wait before it is routed: a multi-key read some of whose keys are owned by
     * another loop, while this client has requests there not yet answered.
     */
    boolean mustWait(Object request) {
        if (elsewhere == 0 || !(request instanceof RetrievalCommand r) || r.keys().size() < 2) {
            return false;
        }
        List<byte[]> keys = r.keys();
        for (int i = 0; i < keys.size(); i++) {
            if (owners.owner(keys.get(i)) != home) {
                return true;
            }
        }
        return false;
    }

    /** Requests handed to another loop and not answered yet. */
    int elsewhere() {
        return elsewhere;
    }

    /** Routes a key command on its owner loop when it must be (see the class comment); takes ownership. */
    void route(Command command, Completion sink) {
        int owner = owners.size() == 1 || !homeRouter.replicated() ? home : ownerOf(command);
        if (owner == home) {
            homeRouter.route(command, sink);
            return;
        }
        elsewhere++;
        try {
            owners.loop(owner).execute(new Handoff(owners.router(owner), command, sink));
        } catch (RejectedExecutionException e) { // the owner loop is shutting down
            elsewhere--;
            ReferenceCountUtil.release(command);
            sink.accept(ErrorReply.server("shutting down"), null);
        }
    }

    /** The loop that must route the command, or {@link #home}. */
    private int ownerOf(Command command) {
        Verb.Intent intent = command.verb().intent();
        byte[] key;
        if (command instanceof RetrievalCommand r) {
            if (elsewhere == 0 || r.keys().size() != 1) {
                return home; // a multi-key read that could not go on has waited (mustWait)
            }
            key = r.keys().get(0);
        } else if (intent == Verb.Intent.WRITE || (intent == Verb.Intent.READ && elsewhere > 0)) {
            key = CommandKeys.keyOf(command);
        } else {
            return home;
        }
        return key == null ? home : owners.owner(key);
    }

    /**
     * A request routed by another loop: the task that routes it there, the completion its route answers
     * there, and the task that answers the client back here. One object for the three.
     */
    private final class Handoff implements Runnable, Completion {
        private final Router owner;
        private Command command;
        private final Completion sink;
        private Reply reply;
        private Throwable failure;

        Handoff(Router owner, Command command, Completion sink) {
            this.owner = owner;
            this.command = command;
            this.sink = sink;
        }

        @Override
        public void run() {
            Command c = command;
            if (c != null) {
                command = null; // the next run is the answer's, back on the client's loop
                owner.route(c, this);
                return;
            }
            elsewhere--;
            sink.accept(reply, failure);
            if (elsewhere == 0) {
                drained.run();
            }
        }

        @Override
        public void accept(Reply r, Throwable f) {
            reply = r;
            failure = f;
            try {
                homeLoop.execute(this);
            } catch (RejectedExecutionException e) { // the client's loop is shutting down: nobody to answer
                ReferenceCountUtil.release(r);
            }
        }
    }
}
