package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;

/**
 * cas: the unique a client holds came from whichever copy answered its gets, so cas goes where gets
 * goes: the first copy in order that serves reads for the key (the main while it is up). A cas stored
 * there is copied to every other copy as a {@code set} with the same value, flags and exptime (a copy
 * out of service misses it and is hinted). A cas whose request failed is not retried on another copy:
 * its unique could not match there. Skipping copies that are down or stale is the {@link Failover} rule.
 */
final class CasRoute implements Route {
    private final RouteContext ctx;

    CasRoute(RouteContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void route(Command command, Completion sink) {
        StorageCommand c = (StorageCommand) command;
        new Cas(ctx, c, sink).start();
    }

    private static final class Cas extends Failover {
        /** The client's command: the value stays retained here until the copies are set. */
        private final StorageCommand command;
        /** Mutations of the key routed after this cas: then the copies are hinted, not set (LaterWrites). */
        private final LaterWrites.Watch watch;
        private final long writesBefore;

        Cas(RouteContext ctx, StorageCommand command, Completion sink) {
            super(ctx, command.key(), sink);
            this.command = command;
            this.watch = ctx.laterWrites().watch(command.key());
            this.writesBefore = watch.writes();
        }

        @Override
        Command command(int copy) {
            return new StorageCommand(Verb.CAS, key, command.flags(), command.exptime(), command.casUnique(),
                    command.value().retainedDuplicate(), false);
        }

        @Override
        boolean acceptable(Reply reply) {
            return true; // EXISTS, NOT_FOUND and errors are the client's answer
        }

        @Override
        boolean failsOver(BackendException cause) {
            // a copy skipped (down, or stale for this key) never saw the cas: the next copy may take it
            return cause.reason() == BackendException.Reason.DOWN;
        }

        @Override
        void failed(BackendServer server, BackendException cause) {
            if (cause.reason() != BackendException.Reason.DOWN) {
                server.hints().record(key); // it may or may not have applied it
                RouteContext.takeOutIfOverflowed(server);
            }
            ctx.laterWrites().end(watch, writesBefore);
            command.release();
        }

        @Override
        void answered(int copy, Reply reply) {
            boolean superseded = ctx.laterWrites().end(watch, writesBefore);
            if (reply == StatusReply.STORED) {
                for (int p = 0; p < cluster.copies(); p++) {
                    if (p != copy && superseded) {
                        // a later write reached this copy already: the cas's value would land after it
                        ctx.lateWriteSuperseded(cluster.copy(p, key), key);
                    } else if (p != copy) {
                        BackendServer other = cluster.copy(p, key);
                        ByteBuf data = command.value().retainedDuplicate();
                        ctx.send(other, new StorageCommand(Verb.SET, key, command.flags(), command.exptime(), 0,
                                data, false), ctx.copyWrite(other, key));
                    }
                }
            }
            // the client last: answering may route its next request at once (its backlog), which must
            // reach the copies after this cas's own copies
            sink.accept(reply, null);
            command.release();
        }
    }
}
