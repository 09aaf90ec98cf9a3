package dev.magent.core;

import dev.magent.protocol.ArithmeticCommand;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.FlushAllCommand;
import dev.magent.protocol.Keys;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.NumberReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.TouchCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides where each key command goes and what the client gets back: the replication, fail-over and
 * read-repair rules of docs/semantics.md live here and nowhere else. One router per event loop; every
 * future it hands out completes on that loop, with a {@link Reply} (errors are {@link ErrorReply} values,
 * never exceptions). Replies are owned by the receiver.
 */
final class Router {
    private static final Logger log = LoggerFactory.getLogger(Router.class);
    /** memcached's largest relative exptime; larger values are absolute unix times. */
    private static final long MAX_RELATIVE_EXPTIME = 60L * 60 * 24 * 30;
    private static final List<String> META_VALUE_FLAGS_TTL = List.of("v", "f", "t");
    private static final List<String> META_VALUE_FLAGS_TTL_CAS = List.of("v", "f", "t", "c");

    // swapped by a reload, always on this router's loop, so plain fields suffice
    private Cluster cluster;
    private final LoopContext loop;
    private final Backends backends;
    private final ProxyStats stats;
    private boolean readRepair;
    private final MetaRoutes meta;

    Router(Cluster cluster, LoopContext loop, ProxyStats stats, boolean readRepair) {
        this(cluster, loop, loop, stats, readRepair);
    }

    Router(Cluster cluster, LoopContext loop, Backends backends, ProxyStats stats, boolean readRepair) {
        this.cluster = cluster;
        this.loop = loop;
        this.backends = backends;
        this.stats = stats;
        this.readRepair = readRepair;
        this.meta = new MetaRoutes(this, stats);
    }

    /** Takes a new configuration's cluster; on this router's loop only. */
    void reconfigure(Cluster next, boolean nextReadRepair) {
        this.cluster = next;
        this.readRepair = nextReadRepair;
    }

    LoopContext loopContext() {
        return loop;
    }

    /**
     * Routes a key command (retrieval, storage, arithmetic, delete, touch, flush_all); takes ownership. The
     * reply goes to {@code sink}, on this router's loop, possibly before this returns.
     */
    void route(Command command, Completion sink) {
        if (command instanceof RetrievalCommand r) {
            if (r.keys().size() == 1) {
                singleGet(r, sink);
            } else {
                new MultiGet(r).start().whenComplete(sink);
            }
        } else if (command instanceof StorageCommand s) {
            if (s.verb() == Verb.CAS) {
                cas(s).whenComplete(sink);
            } else {
                store(s, sink);
            }
        } else if (command instanceof ArithmeticCommand a) {
            arithmetic(a).whenComplete(sink);
        } else if (command instanceof DeleteCommand d) {
            replicate(d.key(), new DeleteCommand(d.key(), false), new DeleteCommand(d.key(), false), sink);
        } else if (command instanceof TouchCommand t) {
            TouchCommand c = new TouchCommand(t.key(), t.exptime(), false);
            replicate(t.key(), c, c, sink);
        } else if (command instanceof FlushAllCommand f) {
            flushAll(new FlushAllCommand(f.delay(), false)).whenComplete(sink);
        } else if (command instanceof MetaCommand m) {
            meta.route(m, cluster, readRepair, sink);
        } else {
            ReferenceCountUtil.release(command);
            sink.accept(ErrorReply.UNKNOWN_COMMAND, null);
        }
    }

    /**
     * Sends to one server unless it is out of service for this kind of request, or holds a stale copy of
     * the command's key (hinted: then the server counts as down for that key); takes ownership.
     */
    CompletableFuture<Reply> send(BackendServer server, Command command) {
        PendingReply promise = new PendingReply();
        send(server, command, promise);
        return promise;
    }

    /** {@link #send(BackendServer, Command)} with the outcome going to {@code completion}. */
    void send(BackendServer server, Command command, Completion completion) {
        boolean inService = command.verb().intent() == Verb.Intent.READ ? server.servesReads() : server.takesWrites();
        if (!inService) {
            ReferenceCountUtil.release(command);
            completion.accept(null, server.downException());
            return;
        }
        byte[] key = null;
        if (!server.hints().isEmpty()) {
            key = keyOf(command);
            if (key != null && server.hints().contains(key)) {
                ReferenceCountUtil.release(command);
                completion.accept(null, server.staleException());
                return;
            }
        }
        if (server.recordingWrites() && command.verb().intent() == Verb.Intent.WRITE) {
            byte[] written = key != null ? key : keyOf(command);
            if (written != null) {
                server.hints().record(written);
            }
        }
        backends.backend(server.id()).send(command, completion);
    }

    /** Sends whatever the server's state: for probes and for bringing a returning server up to date. */
    CompletableFuture<Reply> sendAnyState(BackendServer server, Command command) {
        PendingReply promise = new PendingReply();
        backends.backend(server.id()).send(command, promise);
        return promise;
    }

    /** The key of a single-key command, or null (retrievals check their keys one by one). */
    static byte[] keyOf(Command c) {
        if (c instanceof StorageCommand s) {
            return s.key();
        } else if (c instanceof ArithmeticCommand a) {
            return a.key();
        } else if (c instanceof DeleteCommand d) {
            return d.key();
        } else if (c instanceof TouchCommand t) {
            return t.key();
        } else if (c instanceof MetaGetCommand m) {
            return m.key();
        } else if (c instanceof MetaCommand m) {
            return m.verb() == Verb.MN ? null : m.routingKey(); // decoded: the text command's key and hash
        }
        return null; // retrievals check their keys one by one
    }

    // ---- writes --------------------------------------------------------------------------------------

    private void store(StorageCommand c, Completion sink) {
        StorageCommand toMain = copy(c, c.verb(), c.casUnique());
        StorageCommand toBackup = cluster.hasBackups() ? copy(c, c.verb(), c.casUnique()) : null;
        c.release();
        replicate(c.key(), toMain, toBackup, sink);
    }

    private static StorageCommand copy(StorageCommand c, Verb verb, long cas) {
        return new StorageCommand(verb, c.key(), c.flags(), c.exptime(), cas, c.value().retainedDuplicate(), false);
    }

    /**
     * The common write rule: the main and the backup get the command at once; the client gets the main's
     * reply, or the backup's when the main is down or fails. A failed backup write is counted, not reported.
     */
    private void replicate(byte[] key, Command toMain, Command toBackup, Completion sink) {
        BackendServer main = cluster.mainFor(key);
        BackendServer backup = cluster.backupFor(key);
        if (backup == null && toBackup != null) {
            ReferenceCountUtil.release(toBackup);
        }
        Write write = new Write(key, main, backup, sink);
        send(main, toMain, write);
        if (backup != null) {
            send(backup, toBackup, write.backupSide);
        }
    }

    /**
     * One replicated write's two answers, in whichever order they come (either may come at once, from
     * {@code send}): the main's goes to the client as soon as it is a reply; the backup's is checked
     * after it, or answers the client when the main failed.
     */
    private final class Write implements Completion {
        private final byte[] key;
        private final BackendServer main;
        private final BackendServer backup;
        private final Completion sink;
        final Completion backupSide;
        private boolean mainDone;
        private BackendException mainCause;
        private boolean backupDone;
        private Reply backupReply;
        private Throwable backupFailure;

        Write(byte[] key, BackendServer main, BackendServer backup, Completion sink) {
            this.key = key;
            this.main = main;
            this.backup = backup;
            this.sink = sink;
            this.backupSide = backup == null ? null : this::backupAnswered;
        }

        /** The main's answer. */
        @Override
        public void accept(Reply reply, Throwable failure) {
            mainDone = true;
            if (failure == null) {
                sink.accept(reply, null);
                if (backupDone) {
                    backupWriteDone(key, backup, backupReply, backupFailure);
                }
                return;
            }
            mainCause = missed(main, key, failure);
            if (backup == null) {
                sink.accept(unavailable(key, main, mainCause, null, null), null);
            } else if (backupDone) {
                failedOver();
            }
        }

        private void backupAnswered(Reply reply, Throwable failure) {
            backupDone = true;
            backupReply = reply;
            backupFailure = failure;
            if (mainDone) {
                if (mainCause == null) {
                    backupWriteDone(key, backup, reply, failure);
                } else {
                    failedOver();
                }
            }
        }

        private void failedOver() {
            if (backupFailure == null) {
                stats.failover();
                sink.accept(backupReply, null);
            } else {
                sink.accept(unavailable(key, main, mainCause, backup, noteFailure(backupFailure)), null);
            }
        }
    }

    private void failOver(byte[] key, BackendServer main, Throwable mainFailure, BackendServer backup,
                          CompletableFuture<Reply> fromBackup, CompletableFuture<Reply> result) {
        BackendException mainCause = missed(main, key, mainFailure);
        if (fromBackup == null) {
            result.complete(unavailable(key, main, mainCause, null, null));
            return;
        }
        fromBackup.whenComplete((r, f) -> {
            if (f == null) {
                stats.failover();
                result.complete(r);
            } else {
                result.complete(unavailable(key, main, mainCause, backup, noteFailure(f)));
            }
        });
    }

    private void backupWriteDone(byte[] key, BackendServer backup, Reply reply, Throwable failure) {
        if (failure != null) {
            stats.backupWriteError();
            BackendException cause = missed(backup, key, failure);
            if (log.isDebugEnabled()) {
                log.debug("backup write to {} failed: {}", backup, cause.getMessage());
            }
        } else {
            if (reply instanceof ErrorReply e) {
                stats.backupWriteError();
                log.debug("backup write to {} answered {} {}", backup, e.kind(), e.message());
            }
            ReferenceCountUtil.release(reply);
        }
    }

    /**
     * incr/decr: main and backup both apply the delta, which keeps the backup's flags and TTL; when the
     * backup's result differs from the main's (it missed the key or had drifted) the backup is set to the
     * main's value, so the copies cannot drift. A main that lost the key while the backup has it is
     * repaired like a read miss.
     */
    private CompletableFuture<Reply> arithmetic(ArithmeticCommand a) {
        ArithmeticCommand c = new ArithmeticCommand(a.verb(), a.key(), a.delta(), false);
        BackendServer main = cluster.mainFor(a.key());
        BackendServer backup = cluster.backupFor(a.key());
        CompletableFuture<Reply> fromMain = send(main, c);
        CompletableFuture<Reply> fromBackup = backup == null ? null : send(backup, c);
        CompletableFuture<Reply> result = new CompletableFuture<>();
        fromMain.whenComplete((reply, failure) -> {
            if (failure != null) {
                failOver(a.key(), main, failure, backup, fromBackup, result);
                return;
            }
            if (fromBackup == null) {
                result.complete(reply);
                return;
            }
            if (reply == StatusReply.NOT_FOUND && readRepair) {
                fromBackup.whenComplete((r, f) -> {
                    if (f == null && r instanceof NumberReply) {
                        result.complete(r);
                        repairFromBackup(a.key(), main, backup, false);
                    } else {
                        result.complete(StatusReply.NOT_FOUND);
                        backupWriteDone(a.key(), backup, f == null ? r : null, f);
                    }
                });
                return;
            }
            result.complete(reply);
            fromBackup.whenComplete((r, f) -> {
                if (f != null) {
                    backupWriteDone(a.key(), backup, null, f);
                } else if (reply instanceof NumberReply n
                        && !(r instanceof NumberReply m && m.value() == n.value())) {
                    ReferenceCountUtil.release(r);
                    byte[] digits = Long.toUnsignedString(n.value()).getBytes(StandardCharsets.US_ASCII);
                    StorageCommand set = new StorageCommand(Verb.SET, a.key(), 0, 0, 0,
                            Unpooled.wrappedBuffer(digits), false);
                    send(backup, set).whenComplete((r2, f2) -> backupWriteDone(a.key(), backup, r2, f2));
                } else {
                    ReferenceCountUtil.release(r);
                }
            });
        });
        return result;
    }

    /**
     * cas: the cas unique a client holds came from whichever server answered its gets, so cas goes where
     * gets goes: the main while it serves reads, else the backup. A cas stored on the main is copied to
     * the backup as a set. A cas whose main fails is not retried on the backup (its unique cannot match).
     */
    private CompletableFuture<Reply> cas(StorageCommand c) {
        BackendServer main = cluster.mainFor(c.key());
        BackendServer backup = cluster.backupFor(c.key());
        CompletableFuture<Reply> result = new CompletableFuture<>();
        if (!main.servesReads() && backup != null) {
            StorageCommand toBackup = copy(c, Verb.CAS, c.casUnique());
            c.release();
            send(backup, toBackup).whenComplete((r, f) -> {
                if (f == null) {
                    stats.failover();
                    if (r == StatusReply.STORED) {
                        main.hints().record(c.key());
                    }
                    result.complete(r);
                } else {
                    result.complete(unavailable(c.key(), main, main.downException(), backup, noteFailure(f)));
                }
            });
            return result;
        }
        StorageCommand toMain = copy(c, Verb.CAS, c.casUnique());
        ByteBuf keptForBackup = backup == null ? null : c.value().retainedDuplicate();
        c.release();
        send(main, toMain).whenComplete((r, f) -> {
            if (f != null) {
                if (keptForBackup != null) {
                    keptForBackup.release();
                }
                result.complete(unavailable(c.key(), main, missed(main, c.key(), f), null, null));
                return;
            }
            result.complete(r);
            if (keptForBackup != null) {
                if (r == StatusReply.STORED) {
                    StorageCommand set = new StorageCommand(Verb.SET, c.key(), c.flags(), c.exptime(), 0,
                            keptForBackup, false);
                    send(backup, set).whenComplete((r2, f2) -> backupWriteDone(c.key(), backup, r2, f2));
                } else {
                    keptForBackup.release();
                }
            }
        });
        return result;
    }

    /** flush_all goes to every server; OK when every server that answered said OK. */
    private CompletableFuture<Reply> flushAll(FlushAllCommand c) {
        BackendServer[] servers = cluster.all();
        CompletableFuture<Reply> result = new CompletableFuture<>();
        int[] pending = {servers.length};
        boolean[] anyOk = {false};
        Reply[] firstError = {null};
        for (BackendServer s : servers) {
            send(s, c).whenComplete((r, f) -> {
                if (f != null) {
                    noteFailure(f);
                    s.hints().markOverflowed(); // it missed a flush: only a flush and resync make it right
                    takeOutIfOverflowed(s);
                } else if (r == StatusReply.OK) {
                    anyOk[0] = true;
                } else if (firstError[0] == null) {
                    firstError[0] = r;
                } else {
                    ReferenceCountUtil.release(r);
                }
                if (--pending[0] == 0) {
                    if (firstError[0] != null) {
                        result.complete(firstError[0]);
                    } else if (anyOk[0]) {
                        result.complete(StatusReply.OK);
                    } else {
                        stats.unavailable();
                        result.complete(ErrorReply.server("no server available for flush_all"));
                    }
                }
            });
        }
        return result;
    }

    // ---- read-repair ---------------------------------------------------------------------------------

    /**
     * Reads a key's value, flags, TTL (and cas) from the backup with {@code mg}; completes with the value,
     * or null on a miss or failure.
     */
    private CompletableFuture<Value> fetchFromBackup(byte[] key, BackendServer backup, boolean withCas,
                                                     long[] ttlOut) {
        CompletableFuture<Value> result = new CompletableFuture<>();
        MetaGetCommand mg = new MetaGetCommand(key, withCas ? META_VALUE_FLAGS_TTL_CAS : META_VALUE_FLAGS_TTL);
        send(backup, mg).whenComplete((r, f) -> {
            if (f != null) {
                noteFailure(f);
                result.complete(null);
            } else if (r instanceof MetaReply m && m.code().equals("VA") && m.data() != null) {
                try {
                    int flags = (int) Long.parseLong(orDefault(m.flag('f'), "0"));
                    long cas = m.flag('c') == null ? Value.NO_CAS : Long.parseUnsignedLong(m.flag('c'));
                    ttlOut[0] = Long.parseLong(orDefault(m.flag('t'), "-1"));
                    result.complete(new Value(key, flags, m.data(), cas));
                } catch (NumberFormatException e) {
                    log.warn("backup {} answered an unparsable mg reply {} {}", backup, m.code(), m.flags());
                    m.release();
                    result.complete(null);
                }
            } else {
                ReferenceCountUtil.release(r);
                result.complete(null);
            }
        });
        return result;
    }

    /**
     * The exptime that gives a copy the remaining TTL {@code mg ... t} reported (not 0, which means
     * "expiring now"): -1 is no expiry (0); beyond memcached's 30 days a relative exptime would be read as
     * a unix time, so an absolute one is used.
     */
    static long exptimeForRemainingTtl(long remainingTtl) {
        if (remainingTtl < 0) {
            return 0;
        }
        return remainingTtl <= MAX_RELATIVE_EXPTIME ? remainingTtl : System.currentTimeMillis() / 1000 + remainingTtl;
    }

    private static String orDefault(String s, String d) {
        return s == null ? d : s;
    }

    /**
     * Writes a value the main lacks with {@code add}, so a newer value written meanwhile wins. The TTL is
     * the backup's remaining one; an item about to expire is not copied.
     */
    private void refill(BackendServer main, Value v, long remainingTtl) {
        if (remainingTtl == 0) {
            return;
        }
        long exptime = exptimeForRemainingTtl(remainingTtl);
        StorageCommand add = new StorageCommand(Verb.ADD, v.key(), v.flags(), exptime, 0,
                v.data().retainedDuplicate(), false);
        send(main, add).whenComplete((r, f) -> {
            if (f == null && r == StatusReply.STORED) {
                stats.readRepair();
            } else if (f != null) {
                noteFailure(f);
            }
            ReferenceCountUtil.release(r);
        });
    }

    private void repairFromBackup(byte[] key, BackendServer main, BackendServer backup, boolean withCas) {
        long[] ttl = {0};
        fetchFromBackup(key, backup, withCas, ttl).thenAccept(v -> {
            if (v != null) {
                refill(main, v, ttl[0]);
                v.data().release();
            }
        });
    }

    // ---- errors --------------------------------------------------------------------------------------

    /** A write the server did not get: counted, and hinted so that its copy is fixed when it returns. */
    private BackendException missed(BackendServer server, byte[] key, Throwable failure) {
        BackendException e = noteFailure(failure);
        if (e.reason() != BackendException.Reason.SHUTDOWN) {
            server.hints().record(key);
            takeOutIfOverflowed(server);
        }
        return e;
    }

    /**
     * A server in service whose hint log overflowed has missed writes nobody can list any more: it cannot
     * serve reads until it is flushed and resynced, which is what rejoining does with an overflowed log.
     */
    private static void takeOutIfOverflowed(BackendServer server) {
        if (server.hints().overflowed() && server.state() == BackendServer.State.UP) {
            server.markDown("missed more writes than its hint log holds");
        }
    }

    private BackendException noteFailure(Throwable failure) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        BackendException e = t instanceof BackendException b ? b
                : new BackendException(BackendException.Reason.CONNECTION, new ServerAddress("unknown", 1),
                        String.valueOf(t));
        if (!(t instanceof BackendException)) {
            log.error("unexpected failure in the router", t);
        }
        if (e.reason() != BackendException.Reason.DOWN) {
            stats.backendFailure(e);
        }
        return e;
    }

    private ErrorReply unavailable(byte[] key, BackendServer main, BackendException mainCause,
                                   BackendServer backup, BackendException backupCause) {
        stats.unavailable();
        StringBuilder sb = new StringBuilder("no server available for key ")
                .append(printable(key)).append(": ").append(main).append(' ').append(why(mainCause));
        if (backup != null) {
            sb.append(", ").append(backup).append(' ').append(why(backupCause));
        }
        return ErrorReply.server(sb.toString());
    }

    private static String why(BackendException e) {
        if (e == null) {
            return "failed";
        }
        return switch (e.reason()) {
            case DOWN -> "is down";
            case TIMEOUT -> "timed out";
            case CONNECTION -> "unreachable";
            case PROTOCOL -> "sent a bad reply";
            case LOCAL -> "could not be answered (proxy out of memory)";
            case SHUTDOWN -> "shutting down";
        };
    }

    private static String printable(byte[] key) {
        String s = Keys.toString(key);
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }

    // ---- single-key get: the common case, without the multi-get's bookkeeping ----------------------------

    private void singleGet(RetrievalCommand r, Completion sink) {
        byte[] key = r.keys().get(0);
        BackendServer main = cluster.mainFor(key);
        if (main.hints().contains(key)) {
            new MultiGet(r).start().whenComplete(sink); // stale on the main: the general path reads the backup
            return;
        }
        send(main, r, new SingleGet(r, key, main, sink));
    }

    /** The main's answer to a one-key retrieval: a hit goes straight to the client. */
    private final class SingleGet implements Completion {
        private final RetrievalCommand command;
        private final byte[] key;
        private final BackendServer main;
        private final Completion sink;

        SingleGet(RetrievalCommand command, byte[] key, BackendServer main, Completion sink) {
            this.command = command;
            this.key = key;
            this.main = main;
            this.sink = sink;
        }

        @Override
        public void accept(Reply reply, Throwable failure) {
            if (failure != null || !(reply instanceof ValuesReply values)) {
                ReferenceCountUtil.release(reply);
                // the general path handles fail-over, its errors and its counting
                new MultiGet(command).startFailedOver(main, failure != null ? noteFailure(failure)
                        : new BackendException(BackendException.Reason.PROTOCOL, main.address(),
                        "answered " + describe(reply))).whenComplete(sink);
                return;
            }
            boolean hit = !values.values().isEmpty();
            BackendServer backup = hit || !readRepair ? null : cluster.backupFor(key);
            if (hit || backup == null || backup.hints().contains(key)) {
                if (hit) {
                    stats.hits(1);
                } else {
                    stats.misses(1);
                }
                if (hit && (command.verb() == Verb.GAT || command.verb() == Verb.GATS) && cluster.hasBackups()) {
                    BackendServer b = cluster.backupFor(key);
                    send(b, command).whenComplete((r2, f2) -> backupWriteDone(key, b, r2, f2));
                }
                sink.accept(values, null);
                return;
            }
            long[] ttl = {0};
            fetchFromBackup(key, backup, command.verb().returnsCas(), ttl).thenAccept(v -> {
                if (v == null) {
                    stats.misses(1);
                    sink.accept(ValuesReply.EMPTY, null);
                } else {
                    stats.hits(1);
                    refill(main, v, ttl[0]);
                    sink.accept(new ValuesReply(List.of(v)), null);
                }
            });
        }
    }

    // ---- multi-get -----------------------------------------------------------------------------------

    /**
     * One retrieval: one request per main server holding some of the keys, fail-over per server group,
     * read-repair per missed key, and the hits merged back into the client's key order.
     */
    private final class MultiGet {
        private final RetrievalCommand command;
        private final List<byte[]> keys;
        private final Value[] results;
        private final CompletableFuture<Reply> result = new CompletableFuture<>();
        private int pending;
        private ErrorReply failure;

        MultiGet(RetrievalCommand command) {
            this.command = command;
            this.keys = command.keys();
            this.results = new Value[keys.size()];
        }

        CompletableFuture<Reply> start() {
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
                fromMain(owner[group[0]], group);
            }
            if (staleOwner != null) {
                for (int[] group : groupBy(staleOwner)) {
                    BackendServer main = staleOwner[group[0]];
                    fromBackups(main, main.staleException(), group);
                }
            }
            done();
            return result;
        }

        /** Starts with the main already failed for every key (a single get whose main failed). */
        CompletableFuture<Reply> startFailedOver(BackendServer main, BackendException cause) {
            pending = 1;
            int[] all = new int[keys.size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            fromBackups(main, cause, all);
            done();
            return result;
        }

        private void fromMain(BackendServer main, int[] positions) {
            send(main, retrieval(positions)).whenComplete((r, f) -> {
                if (f == null && r instanceof ValuesReply values) {
                    int[] misses = collect(positions, values);
                    if (cluster.hasBackups()) {
                        if (command.verb() == Verb.GAT || command.verb() == Verb.GATS) {
                            touchBackups(positions);
                        }
                        if (readRepair && misses.length > 0) {
                            for (int pos : misses) {
                                pending++;
                                repair(main, pos);
                            }
                        }
                    }
                    done();
                } else {
                    BackendException cause;
                    if (f != null) {
                        cause = noteFailure(f);
                    } else {
                        cause = new BackendException(BackendException.Reason.PROTOCOL, main.address(),
                                "answered " + describe(r));
                        ReferenceCountUtil.release(r);
                    }
                    fromBackups(main, cause, positions);
                    done();
                }
            });
        }

        private void fromBackups(BackendServer main, BackendException mainCause, int[] positions) {
            if (!cluster.hasBackups()) {
                fail(unavailable(keys.get(positions[0]), main, mainCause, null, null));
                return;
            }
            stats.failover();
            BackendServer[] owner = new BackendServer[keys.size()];
            for (int pos : positions) {
                owner[pos] = cluster.backupFor(keys.get(pos));
            }
            for (int[] group : groupBy(owner)) {
                pending++;
                BackendServer backup = owner[group[0]];
                send(backup, retrieval(group)).whenComplete((r, f) -> {
                    if (f == null && r instanceof ValuesReply values) {
                        collect(group, values);
                    } else {
                        BackendException cause = f != null ? noteFailure(f)
                                : new BackendException(BackendException.Reason.PROTOCOL, backup.address(),
                                "answered " + describe(r));
                        if (f == null) {
                            ReferenceCountUtil.release(r);
                        }
                        fail(unavailable(keys.get(group[0]), main, mainCause, backup, cause));
                    }
                    done();
                });
            }
        }

        private void repair(BackendServer main, int pos) {
            byte[] key = keys.get(pos);
            BackendServer backup = cluster.backupFor(key);
            if (backup.hints().contains(key)) {
                done(); // the backup's copy is stale too: a miss is the honest answer
                return;
            }
            long[] ttl = {0};
            fetchFromBackup(key, backup, command.verb().returnsCas(), ttl).thenAccept(v -> {
                if (v != null) {
                    results[pos] = v;
                    refill(main, v, ttl[0]);
                }
                done();
            });
        }

        private void touchBackups(int[] positions) {
            BackendServer[] owner = new BackendServer[keys.size()];
            for (int pos : positions) {
                owner[pos] = cluster.backupFor(keys.get(pos));
            }
            for (int[] group : groupBy(owner)) {
                BackendServer backup = owner[group[0]];
                send(backup, retrieval(group)).whenComplete((r, f) -> {
                    if (f != null) {
                        for (int pos : group) {
                            backup.hints().record(keys.get(pos));
                        }
                    }
                    backupWriteDone(keys.get(group[0]), backup, r, f);
                });
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

        /** Places a server's hits at their positions; returns the positions that missed. */
        private int[] collect(int[] positions, ValuesReply reply) {
            return MultiGetPlan.collect(keys, positions, reply.values(), results);
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
                result.complete(failure);
                return;
            }
            ValuesReply merged = MultiGetPlan.merge(results);
            stats.hits(merged.values().size());
            stats.misses(results.length - merged.values().size());
            result.complete(merged);
        }
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

    private static String describe(Reply r) {
        return r instanceof ErrorReply e ? e.kind() + " " + e.message() : String.valueOf(r);
    }
}
