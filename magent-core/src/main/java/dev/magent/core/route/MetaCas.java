package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A meta write with a cas ({@code ms}, {@code md}, {@code ma} with {@code C}), by {@link CasRoute}'s rule:
 * the cas came from whichever copy answered the client's {@code mg}, so the write goes where {@code mg}
 * goes, the first copy in order that serves reads for the key; a copy skipped (down, or stale for the key)
 * hands it to the next, a request that failed is not retried (its cas could not match elsewhere) and
 * that copy is hinted. Once a copy has taken it ({@code HD}, or {@code VA} for {@code ma}), every other
 * copy gets {@code afterwards}, the same write without its cas; for {@code ma} each copy's result is then
 * checked against the answer's value and set to it when it differs ({@link MetaArithmetic#reconcile}).
 */
final class MetaCas extends Failover {
    /** The client's command (without q): holds the value (ms) until the other copies have theirs. */
    private final MetaCommand command;
    /** The write the other copies get, sharing command's value. */
    private final MetaCommand afterwards;
    private final boolean arithmetic;

    MetaCas(RouteContext ctx, MetaCommand command, MetaCommand afterwards, boolean arithmetic, Completion sink) {
        super(ctx, command.routingKey(), sink);
        this.command = command;
        this.afterwards = afterwards;
        this.arithmetic = arithmetic;
    }

    @Override
    Command command(int copy) {
        return command.retain(); // command keeps its own reference until the other copies are written
    }

    @Override
    boolean acceptable(Reply reply) {
        return true; // EX, NF, NS and errors are the client's answer
    }

    @Override
    boolean failsOver(BackendException cause) {
        // a copy skipped (down, or stale for this key) never saw the write: the next copy may take it
        return cause.reason() == BackendException.Reason.DOWN;
    }

    @Override
    void failed(BackendServer server, BackendException cause) {
        if (cause.reason() != BackendException.Reason.DOWN) {
            server.hints().record(key); // it may or may not have applied it
            RouteContext.takeOutIfOverflowed(server);
        }
        command.release();
    }

    @Override
    void answered(int copy, Reply reply) {
        boolean took = MetaRoutes.success(reply);
        ByteBuf value = took && arithmetic && cluster.copies() > 1 && reply instanceof MetaReply m
                && m.data() != null ? Unpooled.copiedBuffer(m.data()) : null;
        sink.accept(reply, null);
        if (took) {
            for (int p = 0; p < cluster.copies(); p++) {
                if (p == copy) {
                    continue;
                }
                BackendServer other = cluster.copy(p, key);
                if (value != null) {
                    ByteBuf expected = value.retainedDuplicate(); // reconcile releases it
                    ctx.send(other, afterwards.retain(),
                            (r, f) -> MetaArithmetic.reconcile(ctx, afterwards, other, expected, r, f));
                } else {
                    ctx.send(other, afterwards.retain(), ctx.copyWrite(other, key));
                }
            }
        }
        if (value != null) {
            value.release();
        }
        command.release();
    }
}
