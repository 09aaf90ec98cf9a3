package dev.magent.core.route;

import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * The meta protocol ({@code mg ms md ma mn me}), routed by the text commands' routes and rules
 * (docs/semantics.md) over every copy of the key: {@code ms} and {@code md} are a {@link ReplicatedWrite},
 * {@code mg} and {@code me} a {@link Failover} read ({@link MetaRead}, with read-repair), a write with a
 * cas ({@code C}) goes where {@code mg} goes ({@link MetaCas}, as {@link CasRoute}), {@code ma} is applied
 * on every copy and reconciled ({@link MetaArithmetic}, as {@link ArithmeticRoute}). Every command for a
 * key is placed by its decoded key ({@link dev.magent.core.backend.CommandKeys#keyOf}), so it takes the
 * text command's server, hints and backend connection, and per-key order holds across both protocols.
 *
 * <p>Commands are forwarded as meta commands, so memcached itself builds each reply (flags, opaque, key,
 * base64) and it reaches the client byte for byte. What several servers' replies would spoil is handled
 * here instead: {@code q} is never sent to a backend (a suppressed reply would leave its request without
 * an answer, and a failure unseen) but applied to the reply the client gets, as memcached applies it;
 * {@code mn} is answered here, after everything before it because replies leave in request order.
 */
final class MetaRoutes implements Route {
    private static final MetaReply NOOP_REPLY = new MetaReply("MN", List.of(), null);

    private final RouteContext ctx;
    private final Route write;

    MetaRoutes(RouteContext ctx) {
        this.ctx = ctx;
        this.write = new ReplicatedWrite.WriteRoute(ctx);
    }

    @Override
    public void route(Command command, Completion sink) {
        MetaCommand c = (MetaCommand) command;
        switch (c.verb()) {
            case MN -> sink.accept(NOOP_REPLY, null);
            case MG, ME -> new MetaRead(ctx, c.without("q"), answer(c, sink)).start();
            case MS -> {
                MetaCommand cmd = c.without("q");
                if (cmd.has('C')) {
                    // I only acts together with C: the other copies' plain write drops both
                    new MetaCas(ctx, cmd, cmd.without("CI"), false, answer(c, sink)).start();
                } else {
                    write.route(cmd, answer(c, sink));
                }
            }
            case MD -> {
                MetaCommand cmd = c.without("q");
                if (cmd.has('C')) {
                    new MetaCas(ctx, cmd, cmd.without("C"), false, answer(c, sink)).start();
                } else {
                    write.route(cmd, answer(c, sink));
                }
            }
            case MA -> MetaArithmetic.route(ctx, c, sink);
            default -> {
                ReferenceCountUtil.release(c);
                sink.accept(ErrorReply.UNKNOWN_COMMAND, null);
            }
        }
    }

    // ---- the client's view: q, and ma's value -----------------------------------------------------------

    /**
     * The sink as the client sees it: {@code q} drops the nominal reply as memcached drops it (mg: a miss;
     * ms and md: HD; ma: a success, HD or VA), and an {@code ma} whose value was asked for only by the proxy
     * answers HD instead of VA. The sink itself when neither applies.
     */
    static Completion answer(MetaCommand c, Completion sink) {
        boolean addedValue = c.verb() == Verb.MA && !c.has('v');
        if (!c.quiet() && !addedValue) {
            return sink;
        }
        return (reply, failure) -> {
            Reply r = reply;
            if (addedValue && r instanceof MetaReply m && m.code().equals("VA")) {
                r = new MetaReply("HD", m.flags(), null);
                m.release();
            }
            if (c.quiet() && suppressed(c.verb(), r)) {
                ReferenceCountUtil.release(r);
                r = null;
            }
            sink.accept(r, failure);
        };
    }

    /** Whether memcached leaves out this reply under {@code q} (proto_text.c: resp->skip). */
    static boolean suppressed(Verb verb, Reply r) {
        if (!(r instanceof MetaReply m)) {
            return false; // errors are always returned
        }
        return switch (verb) {
            case MG -> m.code().equals("EN");
            case MS, MD -> m.code().equals("HD");
            case MA -> m.code().equals("HD") || m.code().equals("VA");
            default -> false;
        };
    }

    /** HD or VA: the write (or arithmetic) took effect. */
    static boolean success(Reply r) {
        return r instanceof MetaReply m && (m.code().equals("HD") || m.code().equals("VA"));
    }

    static boolean isServerError(Reply r) {
        return r instanceof ErrorReply e && e.kind() == ErrorReply.Kind.SERVER_ERROR;
    }
}
