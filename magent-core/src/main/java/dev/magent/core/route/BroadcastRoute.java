package dev.magent.core.route;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.WriteFences;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.FlushAllCommand;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StatusReply;
import io.netty.util.ReferenceCountUtil;

/**
 * flush_all: sent to every server of every pool; {@code OK} when every server that answered said
 * {@code OK}, the first other reply otherwise. A server that misses the flush (down, or its request
 * failed) counts as a hint-log overflow: it is flushed and resynced before it serves reads again.
 */
final class BroadcastRoute implements Route {
    private final RouteContext ctx;

    BroadcastRoute(RouteContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void route(Command command, Completion sink) {
        FlushAllCommand f = (FlushAllCommand) command;
        FlushAllCommand c = f.noreply() ? new FlushAllCommand(f.delay(), false) : f;
        BackendServer[] servers = ctx.cluster().all();
        // a copy that reads while this flush is on its way may read what it removes: fenced until every
        // server answered (WriteFences)
        WriteFences fences = ctx.cluster().fences();
        fences.flushed(f.delay(), System.currentTimeMillis());
        Flush b = new Flush(ctx, servers.length, (r, failure) -> {
            fences.flushDone();
            sink.accept(r, failure);
        });
        for (BackendServer s : servers) {
            ctx.send(s, c, (r, failure) -> b.done(s, r, failure));
        }
    }

    /** One flush_all's answers. */
    private static final class Flush {
        private final RouteContext ctx;
        private final Completion sink;
        private int pending;
        private boolean anyOk;
        private Reply firstError;

        Flush(RouteContext ctx, int servers, Completion sink) {
            this.ctx = ctx;
            this.pending = servers;
            this.sink = sink;
        }

        void done(BackendServer s, Reply r, Throwable failure) {
            if (failure != null) {
                ctx.noteFailure(failure);
                s.hints().markOverflowed(); // it missed a flush: only a flush and resync make it right
                RouteContext.takeOutIfOverflowed(s);
            } else if (r == StatusReply.OK) {
                anyOk = true;
            } else if (firstError == null) {
                firstError = r;
            } else {
                ReferenceCountUtil.release(r);
            }
            if (--pending > 0) {
                return;
            }
            if (firstError != null) {
                sink.accept(firstError, null);
            } else if (anyOk) {
                sink.accept(StatusReply.OK, null);
            } else {
                ctx.stats().unavailable();
                sink.accept(ErrorReply.server("no server available for flush_all"), null);
            }
        }
    }
}
