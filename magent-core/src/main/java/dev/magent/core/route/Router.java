package dev.magent.core.route;

import dev.magent.core.ProxyStats;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.CommandKeys;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.LoopContext;
import dev.magent.core.backend.SuspicionGate;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;

/**
 * Picks each key command's route by its verb (mcrouter's OperationSelectorRoute): the rules of
 * docs/semantics.md live in the routes, one policy each: {@link ReplicatedWrite} (set, add, replace,
 * append, prepend, delete, touch), {@link ReadRoute} and {@link MultiGet} (get, gets, gat, gats, with
 * {@link Failover} and {@link ReadRepair}), {@link CasRoute}, {@link ArithmeticRoute} (incr, decr) and
 * {@link BroadcastRoute} (flush_all), and {@link MetaRoutes} composing the same rules for the meta
 * protocol. One router per event loop; every reply goes to the sink on that loop
 * (errors are {@link ErrorReply} values, never exceptions) and is owned by the receiver.
 */
public final class Router {
    private final LoopContext loop;
    private final Backends backends;
    private final RouteContext ctx;
    /** By {@link Verb#ordinal()}; null for verbs that are not routed (the client handler answers them). */
    private final Route[] routes = new Route[Verb.values().length];

    public Router(Cluster cluster, LoopContext loop, ProxyStats stats, boolean readRepair) {
        this(cluster, loop, loop, stats, readRepair);
    }

    /** A router sending through {@code backends} (the loop's pools, or fakes in tests and benchmarks). */
    public Router(Cluster cluster, LoopContext loop, Backends backends, ProxyStats stats, boolean readRepair) {
        this.loop = loop;
        this.backends = backends;
        this.ctx = new RouteContext(cluster, backends, stats, readRepair);
        Route read = new ReadRoute(ctx);
        Route write = new ReplicatedWrite.WriteRoute(ctx);
        Route arithmetic = new ArithmeticRoute(ctx);
        for (Verb v : new Verb[] {Verb.GET, Verb.GETS, Verb.GAT, Verb.GATS}) {
            routes[v.ordinal()] = read;
        }
        for (Verb v : new Verb[] {Verb.SET, Verb.ADD, Verb.REPLACE, Verb.APPEND, Verb.PREPEND, Verb.DELETE,
            Verb.TOUCH}) {
            routes[v.ordinal()] = write;
        }
        routes[Verb.CAS.ordinal()] = new CasRoute(ctx);
        routes[Verb.INCR.ordinal()] = arithmetic;
        routes[Verb.DECR.ordinal()] = arithmetic;
        routes[Verb.FLUSH_ALL.ordinal()] = new BroadcastRoute(ctx);
        Route meta = new MetaRoutes(ctx);
        for (Verb v : new Verb[] {Verb.MG, Verb.MS, Verb.MD, Verb.MA, Verb.MN, Verb.ME}) {
            routes[v.ordinal()] = meta;
        }
    }

    /** Takes a new configuration's cluster; on this router's loop only. */
    public void reconfigure(Cluster next, boolean nextReadRepair) {
        ctx.reconfigure(next, nextReadRepair);
    }

    /** Takes part in the key leases shared by a proxy's loops, as loop {@code index} (see {@link KeyLeases}). */
    public void joinLeases(KeyLeases leases, int index) {
        ctx.joinLeases(leases, index);
    }

    /**
     * Acknowledges a write that missed a copy only once the other proxies can know (see
     * {@link SuspicionGate}); {@code loop} is this router's.
     */
    public void joinSuspicions(SuspicionGate gate, io.netty.util.concurrent.EventExecutor loop) {
        ctx.joinSuspicions(gate, loop);
    }

    /** Whether keys have more than one copy (then the copies' order of writes matters: see KeyOwners). */
    public boolean replicated() {
        return ctx.cluster().copies() > 1;
    }

    public LoopContext loopContext() {
        return loop;
    }

    /** Every server's ungated backend on this loop: for recovery, which writes to servers out of service. */
    public Backends backends() {
        return backends;
    }

    /** What the routes of this loop share (for recovery code and tests). */
    RouteContext routeContext() {
        return ctx;
    }

    /**
     * Routes a key command (retrieval, storage, arithmetic, delete, touch, flush_all); takes ownership. The
     * reply goes to {@code sink}, on this router's loop, possibly before this returns.
     */
    public void route(Command command, Completion sink) {
        if (command.verb().intent() == Verb.Intent.WRITE) {
            ctx.laterWrites().routed(command);
        }
        fence(command);
        Route route = routes[command.verb().ordinal()];
        if (route == null) {
            ReferenceCountUtil.release(command);
            sink.accept(ErrorReply.UNKNOWN_COMMAND, null);
            return;
        }
        route.route(command, sink);
    }

    /**
     * A client write, delete or flush is issued: a repair or resync copy of its key that read before now
     * must not land ({@link WriteFences}). Once per request, before any copy is sent.
     */
    private void fence(Command command) {
        if (command.verb().intent() != Verb.Intent.WRITE) {
            return;
        }
        byte[] key = CommandKeys.keyOf(command); // null for flush_all, whose route fences every key itself
        if (key != null) {
            ctx.cluster().fences().written(key);
        }
    }

    /**
     * Sends to one server as a client request would go: gated by its health and hints (for the admin
     * commands and stats sent to every server). Takes ownership.
     */
    void send(BackendServer server, Command command, Completion completion) {
        ctx.send(server, command, completion);
    }
}
