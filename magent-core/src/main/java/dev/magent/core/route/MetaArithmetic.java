package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ma}, by {@link ArithmeticRoute}'s rule: every copy applies it at once ({@code N J D M T} on each,
 * so each keeps its own flags and TTL); the client gets the main's result, or, the main failing, the first
 * copy's after it that answered. magent asks every copy for the value ({@code v}; the client still gets
 * {@code HD} when it did not ask) and sets a copy whose value differs from the answer's (it lacked the key
 * or had drifted) to the answer's value. A main that lost the counter ({@code NF}) while a later copy has
 * it: the client gets that copy's result and the main is refilled as after a read miss. With {@code C}: the
 * cas rule ({@link MetaCas}).
 */
final class MetaArithmetic {
    /** Flags an ma may carry for magent to add {@code v}: memcached refuses 20 tokens or more. */
    private static final int MAX_FLAGS = 17;
    /** Well below memcached's 2048-byte line limit, beyond which it closes the connection. */
    private static final int MAX_LINE = 1536;

    private final RouteContext ctx;
    private final Cluster cluster;
    private final MetaCommand command;
    private final byte[] key;
    private final Completion sink;
    private final Reply[] replies;
    private final BackendException[] causes;
    private int pending;
    private int answeredBy = -1;
    /** The answer's value, kept to compare the other copies' with (only when there are some). */
    private ByteBuf answerValue;

    private MetaArithmetic(RouteContext ctx, MetaCommand command, Completion sink) {
        this.ctx = ctx;
        this.cluster = ctx.cluster();
        this.command = command;
        this.key = command.routingKey();
        this.sink = sink;
        this.replies = new Reply[cluster.copies()];
        this.causes = new BackendException[cluster.copies()];
    }

    /** Routes the client's ma (q included: applied to the answer, never sent). */
    static void route(RouteContext ctx, MetaCommand c, Completion sink) {
        MetaCommand cmd = c.without("q");
        if (!cmd.has('v') && roomForOneMore(cmd)) {
            cmd = cmd.with("v");
        }
        Completion client = MetaRoutes.answer(c, sink);
        if (cmd.has('C')) {
            new MetaCas(ctx, cmd, cmd.without("C"), true, client).start();
            return;
        }
        new MetaArithmetic(ctx, cmd, client).start();
    }

    /**
     * Whether magent may add a flag to the client's command and still send memcached something it takes as
     * the client's command: the request must never be refused because of magent's addition (without it,
     * the copies are just not compared).
     */
    static boolean roomForOneMore(MetaCommand cmd) {
        if (cmd.flags().size() >= MAX_FLAGS) {
            return false;
        }
        int length = 3 + cmd.key().length;
        for (String f : cmd.flags()) {
            length += 1 + f.length();
        }
        return length < MAX_LINE;
    }

    private void start() {
        pending = replies.length;
        for (int p = 0; p < replies.length; p++) {
            int copy = p;
            BackendServer server = cluster.copy(p, key);
            ctx.send(server, command, (r, f) -> done(copy, server, r, f));
        }
    }

    private void done(int copy, BackendServer server, Reply r, Throwable f) {
        if (f != null) {
            // a later copy is hinted only once some copy took it (see ReplicatedWrite)
            causes[copy] = copy == 0 ? ctx.missed(server, key, f) : ctx.noteFailure(f);
        } else {
            replies[copy] = r;
        }
        if (copy == 0 && f == null && answeredBy < 0
                && (!notFound(r) || !ctx.readRepair() || replies.length == 1)) {
            answer(0); // the common case: the main's result, without waiting for the copies
        }
        if (--pending == 0) {
            allDone();
        }
    }

    private static boolean notFound(Reply r) {
        return r instanceof MetaReply m && m.code().equals("NF");
    }

    private void answer(int copy) {
        answeredBy = copy;
        Reply r = replies[copy];
        replies[copy] = null;
        if (copy > 0) {
            ctx.stats().failover();
        }
        if (replies.length > 1 && MetaRoutes.success(r) && r instanceof MetaReply m && m.data() != null) {
            answerValue = Unpooled.copiedBuffer(m.data());
        }
        sink.accept(r, null);
    }

    private void allDone() {
        boolean mainLost = false;
        if (answeredBy < 0) {
            if (notFound(replies[0])) {
                for (int p = 1; p < replies.length && answeredBy < 0; p++) {
                    if (MetaRoutes.success(replies[p])) {
                        mainLost = true;
                        answer(p);
                    }
                }
                if (answeredBy < 0) {
                    answer(0);
                }
            } else {
                for (int p = 0; p < replies.length && answeredBy < 0; p++) {
                    if (causes[p] == null) {
                        answer(p);
                    }
                }
                if (answeredBy < 0) {
                    List<BackendServer> servers = new ArrayList<>(replies.length);
                    List<BackendException> why = new ArrayList<>(replies.length);
                    for (int p = 0; p < replies.length; p++) {
                        servers.add(cluster.copy(p, key));
                        why.add(causes[p]);
                    }
                    sink.accept(ctx.unavailable(key, servers, why), null);
                    return;
                }
            }
        }
        for (int p = 0; p < replies.length; p++) {
            if (p == answeredBy) {
                continue;
            }
            BackendServer server = cluster.copy(p, key);
            Reply r = replies[p];
            replies[p] = null;
            if (causes[p] != null) {
                if (p > 0) {
                    RouteContext.hint(server, key, causes[p]);
                }
                ctx.copyWriteDone(server, null, causes[p]);
            } else if (p == 0 && mainLost) {
                ReferenceCountUtil.release(r);
                // refilled with the copy's flags and TTL, as a read miss is
                ReadRepair.start(ctx, key, false, 0, MetaRead::drop);
            } else if (answerValue != null) {
                reconcile(ctx, command, server, answerValue.retainedDuplicate(), r, null);
            } else {
                ctx.copyWriteDone(server, r, null);
            }
        }
        ReferenceCountUtil.release(answerValue);
        answerValue = null;
    }

    /**
     * A copy's {@code ma} result against the answer's value ({@code expected}, released here): a copy that
     * differs is set to it with {@code ms <key> <len> [b]} (flags 0, no expiry, as text incr's fix).
     */
    static void reconcile(RouteContext ctx, MetaCommand cmd, BackendServer copy, ByteBuf expected, Reply r,
                          Throwable f) {
        byte[] key = cmd.routingKey();
        if (f != null) {
            expected.release();
            ctx.copyWriteDone(copy, null, ctx.missed(copy, key, f));
            return;
        }
        boolean same = r instanceof MetaReply m && m.code().equals("VA") && m.data() != null
                && ByteBufUtil.equals(m.data(), expected);
        ctx.copyWriteDone(copy, r, null);
        if (same) {
            expected.release();
            return;
        }
        ctx.send(copy, cmd.sameKey(Verb.MS, List.of(), expected), ctx.copyWrite(copy, key));
    }
}
