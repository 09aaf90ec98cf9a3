package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import java.util.ArrayList;
import java.util.List;

/**
 * One retrieval of several keys: one request per main server holding some of them; a group whose main
 * is down or fails is regrouped over the next pool's servers (the {@link Failover} order, pool by pool);
 * a key whose main is stale for it starts at the next pool; each missed key is read-repaired from the
 * copies after the one that missed; the hits are merged back into the client's key order with one END.
 * If some key cannot be answered by any copy the whole request fails: a partial answer would look like
 * misses, and a cache-aside client would then overwrite the cache from its database.
 */
final class MultiGet {
    private final RouteContext ctx;
    private final Cluster cluster;
    private final RetrievalCommand command;
    private final Completion sink;
    private final List<byte[]> keys;
    private final Value[] results;
    private int pending;
    private ErrorReply failure;

    MultiGet(RouteContext ctx, RetrievalCommand command, Completion sink) {
        this.ctx = ctx;
        this.cluster = ctx.cluster();
        this.command = command;
        this.sink = sink;
        this.keys = command.keys();
        this.results = new Value[keys.size()];
    }

    /** Why the copies of a group failed so far, pool by pool, for the error naming each. */
    private record Tried(BackendServer server, BackendException cause, Tried before) {
    }

    void start() {
        int n = keys.size();
        BackendServer[] owner = new BackendServer[n];
        BackendServer[] staleOwner = null;
        for (int i = 0; i < n; i++) {
            BackendServer main = cluster.mainFor(keys.get(i));
            if (main.hints().contains(keys.get(i))) {
                // the main's copy is stale until the catch-up rewrites it: read it elsewhere
                if (staleOwner == null) {
                    staleOwner = new BackendServer[n];
                }
                staleOwner[i] = main;
            } else {
                owner[i] = main;
            }
        }
        pending = 1; // held until every group is sent, so no group can finish the request early
        for (int[] group : groupBy(owner)) {
            pending++;
            ask(0, owner[group[0]], group, null);
        }
        if (staleOwner != null) {
            for (int[] group : groupBy(staleOwner)) {
                BackendServer main = staleOwner[group[0]];
                failOver(0, group, new Tried(main, main.staleException(), null));
            }
        }
        done();
    }

    private void ask(int pool, BackendServer server, int[] positions, Tried before) {
        ctx.send(server, retrieval(positions), (r, f) -> {
            if (f == null && r instanceof ValuesReply values) {
                int[] misses = MultiGetPlan.collect(keys, positions, values.values(), results);
                if (touches() && cluster.hasBackups()) {
                    touchCopies(pool, positions);
                }
                if (ctx.readRepair() && pool + 1 < cluster.copies()) {
                    for (int pos : misses) {
                        pending++;
                        int at = pos;
                        ReadRepair.start(ctx, keys.get(pos), command.verb().returnsCas(),
                                touches() ? command.exptime() : ReadRepair.NO_TOUCH, pool, v -> {
                            if (v != null) {
                                results[at] = v;
                            }
                            done();
                        });
                    }
                }
            } else {
                BackendException cause = f != null ? ctx.noteFailure(f) : RouteContext.badReply(server, r);
                failOver(pool, positions, new Tried(server, cause, before));
            }
            done();
        });
    }

    /** The group failed on pool {@code pool}: its keys regrouped over the next pool's servers. */
    private void failOver(int pool, int[] positions, Tried tried) {
        int next = pool + 1;
        if (next >= cluster.copies()) {
            fail(unavailable(keys.get(positions[0]), tried));
            return;
        }
        ctx.stats().failover();
        BackendServer[] owner = new BackendServer[keys.size()];
        for (int pos : positions) {
            owner[pos] = cluster.copy(next, keys.get(pos));
        }
        for (int[] group : groupBy(owner)) {
            pending++;
            ask(next, owner[group[0]], group, tried);
        }
    }

    private ErrorReply unavailable(byte[] key, Tried tried) {
        List<BackendServer> servers = new ArrayList<>();
        List<BackendException> causes = new ArrayList<>();
        for (Tried t = tried; t != null; t = t.before()) {
            servers.add(0, t.server());
            causes.add(0, t.cause());
        }
        return ctx.unavailable(key, servers, causes);
    }

    private boolean touches() {
        return command.verb() == Verb.GAT || command.verb() == Verb.GATS;
    }

    /**
     * gat/gats: the copies other than the one that answered get the same gat, so that their TTLs stay in
     * step; a copy that misses it (down, or its request failed: a main the backup answered for) is hinted,
     * so that its TTLs are rewritten when it returns.
     */
    private void touchCopies(int answered, int[] positions) {
        for (int pool = 0; pool < cluster.copies(); pool++) {
            if (pool == answered) {
                continue;
            }
            BackendServer[] owner = new BackendServer[keys.size()];
            for (int pos : positions) {
                owner[pos] = cluster.copy(pool, keys.get(pos));
            }
            for (int[] group : groupBy(owner)) {
                BackendServer copy = owner[group[0]];
                ctx.send(copy, retrieval(group), (r, f) -> {
                    if (f != null) {
                        for (int pos : group) {
                            copy.hints().record(keys.get(pos));
                        }
                        f = ctx.noteFailure(f);
                    }
                    ctx.copyWriteDone(copy, r, f);
                });
            }
        }
    }

    private RetrievalCommand retrieval(int[] positions) {
        if (positions.length == keys.size()) {
            return command;
        }
        List<byte[]> subset = new ArrayList<>(positions.length);
        for (int pos : positions) {
            subset.add(keys.get(pos));
        }
        return new RetrievalCommand(command.verb(), subset, command.exptime());
    }

    private void fail(ErrorReply error) {
        if (failure == null) {
            failure = error;
        }
    }

    private void done() {
        if (--pending > 0) {
            return;
        }
        if (failure != null) {
            for (Value v : results) {
                if (v != null) {
                    v.data().release();
                }
            }
            sink.accept(failure, null);
            return;
        }
        ValuesReply merged = MultiGetPlan.merge(results);
        ctx.stats().hits(merged.values().size());
        ctx.stats().misses(results.length - merged.values().size());
        sink.accept(merged, null);
    }

    /** Groups key positions by server (null: left out), each group in the client's key order. */
    private List<int[]> groupBy(BackendServer[] owner) {
        int[] ids = new int[owner.length];
        for (int i = 0; i < owner.length; i++) {
            ids[i] = owner[i] == null ? -1 : owner[i].id();
        }
        MultiGetPlan plan = MultiGetPlan.group(ids, cluster.size());
        List<int[]> groups = new ArrayList<>(plan.groupCount());
        for (int g = 0; g < plan.groupCount(); g++) {
            groups.add(plan.positions(g));
        }
        return groups;
    }
}
