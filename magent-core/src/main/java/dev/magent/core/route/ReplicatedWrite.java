package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.CommandKeys;
import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.TouchCommand;
import java.util.ArrayList;
import java.util.List;

/**
 * set, add, replace, append, prepend, delete, touch, and meta's ms and md (mcrouter's AllInitialRoute): every copy of the key
 * gets the command at once; the client gets the main's reply, or, when the main is down or its request
 * fails, the reply of the first copy after it that answered (the {@link Failover} order). A copy's failed
 * write is hinted, and counted in {@code backup_write_errors} when an earlier copy answered the client.
 *
 * <p>One object per request holds the main's leg and links the other copies' legs, so a main + backup
 * write costs what one callback per copy costs; the legs answer in any order, some before {@code send}
 * returns.
 */
final class ReplicatedWrite extends WriteLeg {
    private final RouteContext ctx;
    private final byte[] key;
    private final Completion sink;
    /** A leg whose outcome was handed on: done, nothing left to release. */
    private static final Object SETTLED = new Object();
    private boolean answered;
    /**
     * With other proxies about, a write answers only once every copy has (or its miss is visible to them):
     * a copy still holding the old value could otherwise be read, read-repaired back (a delete) or copied
     * over the new value by another proxy's repair after the client was told it succeeded. Alone, this
     * proxy's own reads and repairs are kept off it by the write fences, and the main's reply answers.
     */
    private final boolean everyCopy;

    /** The route: stateless, one per loop. */
    static final class WriteRoute implements Route {
        private final RouteContext ctx;

        WriteRoute(RouteContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void route(Command command, Completion sink) {
            byte[] key = CommandKeys.keyOf(command);
            Cluster cluster = ctx.cluster();
            boolean everyCopy = !ctx.alone();
            ReplicatedWrite write = new ReplicatedWrite(ctx, cluster.mainFor(key), key, sink, everyCopy);
            WriteLeg last = write;
            for (int p = 1; p < cluster.copies(); p++) {
                WriteLeg leg = new WriteLeg.Copy(write, cluster.copy(p, key));
                last.next = leg;
                last = leg;
            }
            Command base = withReplies(command);
            // every leg is linked before the first send: a leg may complete at once and look at the others
            for (WriteLeg leg = write; leg != null; leg = leg.next) {
                ctx.send(leg.server, leg.next == null ? base : copyOf(base), leg);
            }
        }
    }

    /**
     * The command as sent to the servers: with replies even when the client asked for none, so that
     * failures are seen and counted.
     */
    static Command withReplies(Command c) {
        if (!c.noreply()) {
            return c;
        }
        if (c instanceof StorageCommand s) {
            return s.withNoreply(false); // shares the value: ownership moves to the copy
        } else if (c instanceof DeleteCommand d) {
            return new DeleteCommand(d.key(), false);
        } else if (c instanceof TouchCommand t) {
            return new TouchCommand(t.key(), t.exptime(), false);
        }
        return c;
    }

    /** Another copy's own command: a value is retained once more, records without one are shared. */
    static Command copyOf(Command c) {
        if (c instanceof MetaCommand m) {
            return m.retain(); // ms: the same command, its value retained for this copy's trip
        }
        if (c instanceof StorageCommand s) {
            return new StorageCommand(s.verb(), s.key(), s.flags(), s.exptime(), s.casUnique(),
                    s.value().retainedDuplicate(), false);
        }
        return c;
    }

    private ReplicatedWrite(RouteContext ctx, BackendServer main, byte[] key, Completion sink, boolean everyCopy) {
        super(main);
        this.everyCopy = everyCopy;
        this.ctx = ctx;
        this.key = key;
        this.sink = sink;
    }

    @Override
    ReplicatedWrite write() {
        return this;
    }

    void legDone(WriteLeg leg, Reply reply, Throwable failure) {
        if (failure != null) {
            // the main is hinted at once (as before); a backup only once some copy took the write: when
            // every copy failed the client was told so, and hinting the backups too could leave a key with
            // no copy that counts as fresh (a main stale during a resync and a backup stale after a timeout)
            leg.outcome = leg == this ? ctx.missed(leg.server, key, failure) : ctx.noteFailure(failure);
        } else {
            leg.outcome = reply;
        }
        if (answered) {
            settle(leg);
        } else {
            advance();
        }
    }

    /**
     * Answers as soon as every copy before the first that answered has failed (a delete: once every copy
     * is done); a write that missed a copy is acknowledged once the other proxies can know.
     */
    private void advance() {
        WriteLeg l = this;
        while (l != null && l.done()) {
            if (!l.failed()) {
                if (everyCopy && !everyLegDone()) {
                    return;
                }
                answered = true;
                if (l != this) {
                    ctx.stats().failover();
                }
                Reply r = (Reply) l.outcome;
                l.outcome = SETTLED;
                BackendServer missed = l == this ? null : server; // the main, hinted when it failed
                for (WriteLeg before = l == this ? l : this.next; before != l; before = before.next) {
                    RouteContext.hint(before.server, key, (BackendException) before.outcome); // failed over
                }
                for (WriteLeg later = l.next; later != null; later = later.next) {
                    if (later.done()) {
                        if (later.failed() && missed == null) {
                            missed = later.server;
                        }
                        settle(later);
                    }
                }
                if (missed == null) {
                    sink.accept(r, null);
                } else {
                    ctx.acknowledgeAfter(missed, r, sink);
                }
                return;
            }
            l = l.next;
        }
        if (l == null) {
            answered = true;
            List<BackendServer> servers = new ArrayList<>();
            List<BackendException> causes = new ArrayList<>();
            for (WriteLeg f = this; f != null; f = f.next) {
                servers.add(f.server);
                causes.add((BackendException) f.outcome);
            }
            sink.accept(ctx.unavailable(key, servers, causes), null);
        }
    }

    private boolean everyLegDone() {
        for (WriteLeg leg = this; leg != null; leg = leg.next) {
            if (!leg.done()) {
                return false;
            }
        }
        return true;
    }

    /** A copy after the one that answered the client: its error or failure is counted, its reply released. */
    private void settle(WriteLeg leg) {
        Object o = leg.outcome;
        leg.outcome = SETTLED;
        if (o instanceof BackendException e) {
            RouteContext.hint(leg.server, key, e);
            ctx.copyWriteDone(leg.server, null, e);
        } else if (o instanceof Reply r) {
            ctx.copyWriteDone(leg.server, r, null);
        }
    }
}
