package dev.magent.core.route;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import java.util.List;

/**
 * get, gets, gat, gats of one key: the main answers; a main that is down, stale for the key or failing
 * fails over to the copies in order ({@link Failover}); a miss is read-repaired from the next copies
 * ({@link ReadRepair}); gat and gats also touch the other copies, so their TTLs stay in step. More than
 * one key: {@link MultiGet}.
 */
final class ReadRoute implements Route {
    private final RouteContext ctx;

    ReadRoute(RouteContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void route(Command command, Completion sink) {
        RetrievalCommand r = (RetrievalCommand) command;
        if (r.keys().size() != 1) {
            new MultiGet(ctx, r, sink).start();
            return;
        }
        new Read(ctx, r, sink).start();
    }

    /** One one-key retrieval: its fail-over state and what to do with the answer. */
    private static final class Read extends Failover implements ReadRepair.Done {
        private final RetrievalCommand command;

        Read(RouteContext ctx, RetrievalCommand command, Completion sink) {
            super(ctx, command.keys().get(0), sink);
            this.command = command;
        }

        @Override
        Command command(int copy) {
            return command; // no value to release: the same command can go to each copy
        }

        @Override
        boolean acceptable(Reply reply) {
            return reply instanceof ValuesReply;
        }

        @Override
        void answered(int copy, Reply reply) {
            ValuesReply values = (ValuesReply) reply;
            if (!values.values().isEmpty()) {
                ctx.stats().hits(1);
                Verb verb = command.verb();
                if (verb == Verb.GAT || verb == Verb.GATS) {
                    for (int p = 0; p < cluster.copies(); p++) {
                        if (p != copy) {
                            BackendServer other = cluster.copy(p, key);
                            ctx.send(other, command, ctx.copyWrite(other, key));
                        }
                    }
                }
                sink.accept(values, null);
                return;
            }
            if (!ctx.readRepair() || copy + 1 >= cluster.copies()) {
                ctx.stats().misses(1);
                sink.accept(values, null);
                return;
            }
            Verb verb = command.verb();
            long touch = verb == Verb.GAT || verb == Verb.GATS ? command.exptime() : ReadRepair.NO_TOUCH;
            ReadRepair.start(ctx, key, verb.returnsCas(), touch, copy, this);
        }

        @Override
        public void repaired(Value value) {
            if (value == null) {
                ctx.stats().misses(1);
                sink.accept(ValuesReply.EMPTY, null);
            } else {
                ctx.stats().hits(1);
                sink.accept(new ValuesReply(List.of(value)), null);
            }
        }
    }
}
