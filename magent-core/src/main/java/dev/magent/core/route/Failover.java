package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.Reply;
import java.util.ArrayList;
import java.util.List;

/**
 * The one fail-over rule, for a request that one copy of a key answers: the copies are tried in order
 * (the main, then each backup pool's copy); a copy that is down, holds a stale copy of the key, or whose
 * request fails hands the request to the next; the first reply answers, counted in {@code failovers} when
 * it came from a backup; when every copy failed the client gets
 * {@code SERVER_ERROR no server available for key ...} naming each. Also this request's completion: the
 * subclass (a get, a cas) is the per-request state, one object.
 *
 * <p>Writes go to every copy at once ({@link ReplicatedWrite}) and multi-gets regroup their keys per pool
 * ({@link MultiGet}); both choose their answer by this same order.
 */
abstract class Failover implements Completion {
    final RouteContext ctx;
    final Cluster cluster;
    final byte[] key;
    final Completion sink;
    /** The copy being asked now, and its server (placed once: a ring lookup is a hash of the key). */
    int copy;
    private BackendServer server;
    private List<BackendServer> tried;
    private List<BackendException> causes;

    Failover(RouteContext ctx, byte[] key, Completion sink) {
        this.ctx = ctx;
        this.cluster = ctx.cluster();
        this.key = key;
        this.sink = sink;
    }

    /** Asks the main and, if it fails, the copies after it. */
    final void start() {
        copy = 0;
        server = cluster.mainFor(key);
        ctx.send(server, command(0), this);
    }

    /** The command for a copy (a command without a value can be the same object each time). */
    abstract Command command(int copy);

    /** Whether a reply is an answer; anything else counts as a failure of that copy. */
    abstract boolean acceptable(Reply reply);

    /** A copy answered; the reply is the subclass's to hand on or release. */
    abstract void answered(int copy, Reply reply);

    /** Whether a failure hands the request to the next copy (a cas does not retry a request that was sent). */
    boolean failsOver(BackendException cause) {
        return true;
    }

    /** Every copy failed: a hook before the client gets the error (a cas hints the copy it failed on). */
    void failed(BackendServer server, BackendException cause) {
    }

    @Override
    public final void accept(Reply reply, Throwable failure) {
        BackendServer server = this.server;
        BackendException cause;
        if (failure != null) {
            cause = ctx.noteFailure(failure);
        } else if (acceptable(reply)) {
            if (copy != 0) {
                ctx.stats().failover();
            }
            answered(copy, reply);
            return;
        } else {
            cause = RouteContext.badReply(server, reply);
        }
        if (tried == null) {
            tried = new ArrayList<>(cluster.copies());
            causes = new ArrayList<>(cluster.copies());
        }
        tried.add(server);
        causes.add(cause);
        if (copy + 1 < cluster.copies() && failsOver(cause)) {
            copy++;
            this.server = cluster.copy(copy, key);
            ctx.send(this.server, command(copy), this);
            return;
        }
        failed(server, cause);
        sink.accept(ctx.unavailable(key, tried, causes), null);
    }
}
