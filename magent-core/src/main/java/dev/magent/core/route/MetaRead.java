package dev.magent.core.route;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * {@code mg} and {@code me} of one key: the {@link Failover} read, as {@link ReadRoute}'s get. The copies
 * are asked in order (the main, then each backup pool's copy); one that is down, hinted stale for the key,
 * fails or answers {@code SERVER_ERROR} hands the request on. An {@code mg} miss ({@code EN}) is read from
 * the next copies with the client's own {@code mg}: the first hit answers the client and the copies that
 * missed are refilled ({@link ReadRepair}: {@code mg <key> v f t}, then an add). Not under {@code N}: a
 * vivifying {@code mg} never misses, the copy answers {@code W} and the client's recache writes every copy.
 * An {@code mg} hit with {@code T} touches every other copy too ({@code mg <key> T<ttl>}), as gat does, so
 * the copies' TTLs stay in step; a copy the touch misses is hinted. {@code N}, {@code R} and the
 * {@code W X Z} flags are the answering copy's.
 */
final class MetaRead extends Failover {
    private final MetaCommand command;
    /** During a repair: the copy whose miss the client gets when no later copy has the key. */
    private int missedAt = -1;
    private MetaReply miss;

    /** The client's command without {@code q}; the sink is the client's view ({@link MetaRoutes#answer}). */
    MetaRead(RouteContext ctx, MetaCommand command, Completion sink) {
        super(ctx, command.routingKey(), sink);
        this.command = command;
    }

    @Override
    Command command(int copy) {
        return command; // no value: the same command can go to each copy
    }

    @Override
    boolean acceptable(Reply reply) {
        return !MetaRoutes.isServerError(reply); // a CLIENT_ERROR is the client's answer
    }

    @Override
    void answered(int copy, Reply reply) {
        if (command.verb() != Verb.MG) {
            sink.accept(reply, null); // me: the first copy that could answer
            return;
        }
        if (reply instanceof MetaReply m && m.code().equals("EN")) {
            if (ctx.readRepair() && !command.has('N') && copy + 1 < cluster.copies()) {
                missedAt = copy;
                miss = m;
                askNext(copy + 1);
                return;
            }
            ctx.stats().misses(1);
        } else if (reply instanceof MetaReply m && m.hit()) {
            hit(copy);
        }
        sink.accept(reply, null);
    }

    private void hit(int copy) {
        ctx.stats().hits(1);
        String ttl = command.token('T');
        if (ttl != null) {
            MetaCommand touch = command.sameKey(Verb.MG, List.of("T" + ttl), null);
            for (int p = 0; p < cluster.copies(); p++) {
                if (p != copy) {
                    BackendServer other = cluster.copy(p, key);
                    ctx.send(other, touch, ctx.copyWrite(other, key));
                }
            }
        }
    }

    /** The repair's read of a later copy: the client's own mg, so that its reply is the client's answer. */
    private void askNext(int copy) {
        ctx.send(cluster.copy(copy, key), command, (r, f) -> repairAnswered(copy, r, f));
    }

    private void repairAnswered(int copy, Reply r, Throwable f) {
        if (f == null && r instanceof MetaReply m && m.hit()) {
            miss.release();
            hit(copy);
            sink.accept(r, null);
            // the copies that missed get the value, flags and remaining TTL of the first copy after them
            // that has it; the add never overwrites a value written meanwhile
            ReadRepair.start(ctx, key, false, missedAt, MetaRead::drop);
            return;
        }
        if (f != null) {
            ctx.noteFailure(f); // down, stale for the key or failing: a later copy may have it
        } else {
            ReferenceCountUtil.release(r);
        }
        if (copy + 1 < cluster.copies()) {
            askNext(copy + 1);
            return;
        }
        ctx.stats().misses(1);
        sink.accept(miss, null);
    }

    /** The repair's value: the client has its answer already. */
    static void drop(dev.magent.protocol.Value v) {
        if (v != null) {
            ByteBuf data = v.data();
            data.release();
        }
    }
}
