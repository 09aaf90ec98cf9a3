package dev.magent.core.frontend;

import dev.magent.core.backend.CommandKeys;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.KeyStripes;
import dev.magent.core.route.KeyLeases;
import dev.magent.core.route.Router;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * One client connection's routing by key lease ({@link KeyLeases}): one order per key across every client
 * and loop. A mutation (set, add, replace, append, prepend, cas, incr, decr, delete, touch, ms, md, ma) is
 * routed by this client's loop when its key's stripe is free or already leased here (nearly always), else
 * handed to the loop holding the lease, which sends it behind the mutations it has in flight, and its reply
 * handed back. Reads stay on the client's loop, except while this client has requests handed to another
 * loop that are not answered yet: a one-key read of a key leased there goes there too, behind the client's
 * own writes (a loop runs the tasks handed to it in order), and a multi-key read waits until they are
 * answered ({@link #mustWait}); so a client always reads its own writes. With a single copy of every key
 * there is no order to keep between copies, and everything is routed on the client's loop.
 *
 * <p>Used on the client's loop only. A request handed over costs one object (it is its own task both ways)
 * and two task hand-offs; a request routed at home, one compare-and-set on its stripe for a mutation.
 * Flow control: a backend connection of the other loop does not hold a client of this one (holding is per
 * loop, without locks); the client's window of requests in flight still bounds what it has outstanding.
 */
final class KeyOrder {
    private final KeyOwners owners;
    private final KeyLeases leases;
    private final int home;
    private final Router homeRouter;
    private final Executor homeLoop;
    /** Called when the last request handed to another loop is answered: a waiting multi-key read may go. */
    private final Runnable drained;
    /** Requests handed to another loop and not answered yet. */
    private int elsewhere;

    KeyOrder(KeyOwners owners, int home, Runnable drained) {
        this.owners = owners;
        this.leases = owners.leases();
        this.home = home;
        this.homeRouter = owners.router(home);
        this.homeLoop = owners.loop(home);
        this.drained = drained;
    }

    /** Whether a request must wait before it is routed: a multi-key read while requests are elsewhere. */
    boolean mustWait(Object request) {
        return elsewhere > 0 && request instanceof RetrievalCommand r && r.keys().size() > 1;
    }

    /** Requests handed to another loop and not answered yet. */
    int elsewhere() {
        return elsewhere;
    }

    /** Routes a command on the loop that must route it (see the class comment); takes ownership. */
    void route(Command command, Completion sink) {
        if (owners.size() == 1 || !homeRouter.replicated()) {
            homeRouter.route(command, sink);
            return;
        }
        Verb.Intent intent = command.verb().intent();
        if (intent == Verb.Intent.WRITE) {
            byte[] key = CommandKeys.keyOf(command);
            if (key != null) {
                int stripe = KeyStripes.of(key);
                int sender = leases.enter(stripe, home);
                if (sender == home) {
                    try {
                        homeRouter.route(command, sink); // its sends hold the lease on their own
                    } finally {
                        leases.release(stripe);
                    }
                } else {
                    handOff(sender, command, sink, stripe);
                }
                return;
            }
        } else if (intent == Verb.Intent.READ && elsewhere > 0) {
            byte[] key = command instanceof RetrievalCommand r
                    ? (r.keys().size() == 1 ? r.keys().get(0) : null) // several keys waited (mustWait)
                    : CommandKeys.keyOf(command);
            int holder = key == null ? -1 : leases.holder(KeyStripes.of(key));
            if (holder >= 0 && holder != home) {
                handOff(holder, command, sink, -1);
                return;
            }
        }
        homeRouter.route(command, sink);
    }

    /** Hands a command to another loop's router; {@code stripe} is the lease held for it there, or -1. */
    private void handOff(int loop, Command command, Completion sink, int stripe) {
        elsewhere++;
        try {
            owners.loop(loop).execute(new Handoff(owners.router(loop), command, sink, stripe));
        } catch (RejectedExecutionException e) { // that loop is shutting down
            elsewhere--;
            if (stripe >= 0) {
                leases.release(stripe);
            }
            ReferenceCountUtil.release(command);
            sink.accept(ErrorReply.server("shutting down"), null);
        }
    }

    /**
     * A request routed by another loop: the task that routes it there, the completion its route answers
     * there, and the task that answers the client back here. One object for the three.
     */
    private final class Handoff implements Runnable, Completion {
        private final Router router;
        private final Completion sink;
        private final int stripe;
        private Command command;
        private Reply reply;
        private Throwable failure;

        Handoff(Router router, Command command, Completion sink, int stripe) {
            this.router = router;
            this.command = command;
            this.sink = sink;
            this.stripe = stripe;
        }

        @Override
        public void run() {
            Command c = command;
            if (c != null) {
                command = null; // the next run is the answer's, back on the client's loop
                try {
                    router.route(c, this);
                } finally {
                    if (stripe >= 0) {
                        leases.release(stripe); // held for it since the hand-off; its sends hold their own
                    }
                }
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
