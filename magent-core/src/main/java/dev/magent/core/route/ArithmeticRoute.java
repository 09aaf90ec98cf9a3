package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.ArithmeticCommand;
import dev.magent.protocol.Command;
import dev.magent.protocol.NumberReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Verb;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * incr/decr: every copy applies the delta at once, which keeps each copy's flags and TTL; the client gets
 * the main's result (or, the main failing, the first copy's after it that answered). A copy whose result
 * differs from the answer (it lacked the key or had drifted) is set to the answer's value, so the copies
 * cannot drift. A main that answers {@code NOT_FOUND} while a later copy has the counter (it came back
 * empty) gets that copy's result for the client and is read-repaired.
 */
final class ArithmeticRoute implements Route {
    private final RouteContext ctx;

    ArithmeticRoute(RouteContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void route(Command command, Completion sink) {
        ArithmeticCommand a = (ArithmeticCommand) command;
        ArithmeticCommand c = a.noreply() ? new ArithmeticCommand(a.verb(), a.key(), a.delta(), false) : a;
        new Arithmetic(ctx, c, sink).start();
    }

    private static final class Arithmetic {
        private final RouteContext ctx;
        private final Cluster cluster;
        private final ArithmeticCommand command;
        private final Completion sink;
        private final Reply[] replies;
        private final BackendException[] causes;
        private int pending;
        private int answeredBy = -1;
        /** Mutations of the key routed after this one: then no copy is corrected late (see LaterWrites). */
        private final LaterWrites.Watch watch;
        private final long writesBefore;

        Arithmetic(RouteContext ctx, ArithmeticCommand command, Completion sink) {
            this.ctx = ctx;
            this.cluster = ctx.cluster();
            this.command = command;
            this.sink = sink;
            this.replies = new Reply[cluster.copies()];
            this.causes = new BackendException[cluster.copies()];
            this.watch = ctx.laterWrites().watch(command.key());
            this.writesBefore = watch.writes();
        }

        void start() {
            pending = replies.length;
            for (int p = 0; p < replies.length; p++) {
                int copy = p;
                BackendServer server = cluster.copy(p, command.key());
                ctx.send(server, command, (r, f) -> done(copy, server, r, f));
            }
        }

        private void done(int copy, BackendServer server, Reply r, Throwable f) {
            if (f != null) {
                // a backup is hinted only once some copy took the delta (see ReplicatedWrite)
                causes[copy] = copy == 0 ? ctx.missed(server, command.key(), f) : ctx.noteFailure(f);
            } else {
                replies[copy] = r;
            }
            if (copy == 0 && f == null && answeredBy < 0 && (replies.length == 1 || trusted(server) && ctx.alone())
                    && (r != StatusReply.NOT_FOUND || !ctx.readRepair() || replies.length == 1)) {
                answer(0); // the common case: the main's result, without waiting for the copies
            }
            if (--pending == 0) {
                allDone();
            }
        }

        /**
         * Whether a copy's result can answer: not one that another proxy recorded missed writes (its count
         * may lack increments that proxy acknowledged; the copies are set to the answer instead).
         */
        private static boolean trusted(BackendServer server) {
            return server.suspicion().readable();
        }

        private void answer(int copy) {
            answeredBy = copy;
            Reply r = replies[copy];
            replies[copy] = null;
            if (copy > 0) {
                ctx.stats().failover();
            }
            int missed = -1; // with other proxies about every copy is done by now (see ReplicatedWrite)
            for (int p = 0; p < causes.length && missed < 0; p++) {
                if (causes[p] != null && p != copy) {
                    missed = p;
                }
            }
            if (missed >= 0) {
                ctx.acknowledgeAfter(cluster.copy(missed, command.key()), r, sink);
            } else {
                sink.accept(r, null);
            }
            if (r instanceof NumberReply n) {
                replies[copy] = n; // numbers hold no buffer: kept to compare the copies with
            }
        }

        /** Whether a copy after {@code copy} answered with a number (so it can answer instead). */
        private boolean laterCopyCounted(int copy) {
            for (int p = copy + 1; p < replies.length; p++) {
                if (causes[p] == null && replies[p] instanceof NumberReply) {
                    return true;
                }
            }
            return false;
        }

        private void allDone() {
            byte[] key = command.key();
            boolean superseded = ctx.laterWrites().end(watch, writesBefore);
            boolean mainLost = false;
            if (answeredBy < 0) {
                if (replies[0] == StatusReply.NOT_FOUND) {
                    for (int p = 1; p < replies.length && answeredBy < 0; p++) {
                        if (replies[p] instanceof NumberReply) {
                            mainLost = true;
                            answer(p);
                        }
                    }
                    if (answeredBy < 0) {
                        answer(0);
                    }
                } else {
                    for (int p = 0; p < replies.length && answeredBy < 0; p++) {
                        if (causes[p] == null && (trusted(cluster.copy(p, key)) || !laterCopyCounted(p))) {
                            answer(p);
                        }
                    }
                    if (answeredBy < 0) {
                        List<BackendServer> servers = new ArrayList<>();
                        List<BackendException> why = new ArrayList<>();
                        for (int p = 0; p < replies.length; p++) {
                            servers.add(cluster.copy(p, key));
                            why.add(causes[p]);
                        }
                        sink.accept(ctx.unavailable(key, servers, why), null);
                        return;
                    }
                }
            }
            Reply answer = replies[answeredBy];
            for (int p = 0; p < replies.length; p++) {
                if (p == answeredBy) {
                    continue;
                }
                BackendServer server = cluster.copy(p, key);
                Reply r = replies[p];
                if (causes[p] != null) {
                    if (p > 0) {
                        RouteContext.hint(server, key, causes[p]);
                    }
                    ctx.copyWriteDone(server, null, causes[p]);
                } else if (superseded && (p == 0 && mainLost || answer instanceof NumberReply n
                        && !(r instanceof NumberReply m && m.value() == n.value()))) {
                    // a later write of the key reached this copy before the correction would
                    ReferenceCountUtil.release(r);
                    ctx.lateWriteSuperseded(server, key);
                } else if (p == 0 && mainLost) {
                    ReferenceCountUtil.release(r);
                    // refilled with the copy's flags and TTL, as a read miss is
                    ReadRepair.start(ctx, key, false, 0, v -> {
                        if (v != null) {
                            v.data().release();
                        }
                    });
                } else if (answer instanceof NumberReply n && !(r instanceof NumberReply m && m.value() == n.value())) {
                    ReferenceCountUtil.release(r);
                    byte[] digits = Long.toUnsignedString(n.value()).getBytes(StandardCharsets.US_ASCII);
                    ctx.send(server, new StorageCommand(Verb.SET, key, 0, 0, 0, Unpooled.wrappedBuffer(digits), false),
                            ctx.copyWrite(server, key));
                } else {
                    ctx.copyWriteDone(server, r, null);
                }
            }
        }
    }
}
