package dev.magent.core.route;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.PendingReply;

import dev.magent.core.ProxyStats;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;

import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The meta protocol ({@code mg ms md ma mn me}) routed with the rules of the text commands
 * (docs/semantics.md): writes go to the key's main and backup, reads to the main with fail-over to the
 * backup and read-repair on a miss, writes a server misses are hinted, and every command for a key takes
 * the same backend connection as the text command for that key ({@link dev.magent.core.backend.CommandKeys#keyOf} gives the decoded
 * key), so per-key order holds across both protocols.
 *
 * <p>Commands are forwarded as meta commands, so memcached itself builds each reply (flags, opaque, key,
 * base64) and it reaches the client byte for byte. What several servers' replies would spoil is handled
 * here instead: {@code q} is never sent to a backend (a suppressed reply would leave its request without
 * an answer) but applied to the reply the client gets, as memcached applies it; {@code mn} is answered
 * here, after everything before it because replies leave in request order. Flags are rewritten where the
 * backup's copy needs it: a compare-and-swap ({@code C}) reaches the backup without its cas, after the main
 * took it; {@code ma} always asks for the value, so that the backup's result can be checked against the
 * main's and corrected.
 *
 * <p>One instance per {@link Router}; on the router's event loop only.
 */
final class MetaRoutes {
    private static final Logger log = LoggerFactory.getLogger(MetaRoutes.class);
    private static final MetaReply NOOP_REPLY = new MetaReply("MN", List.of(), null);
    /** What the backup is asked for to refill a main after a miss: value, client flags, remaining TTL. */
    private static final List<String> REFILL_READ = List.of("v", "f", "t");
    /** Flags an ma may carry for magent to add {@code v}: memcached refuses 20 tokens or more. */
    private static final int MAX_FLAGS = 17;
    /** Well below memcached's 2048-byte line limit, beyond which it closes the connection. */
    private static final int MAX_LINE = 1536;

    private final Router router;
    private final ProxyStats stats;

    MetaRoutes(Router router, ProxyStats stats) {
        this.router = router;
        this.stats = stats;
    }

    /** Routes one meta command; takes ownership. The reply (null when {@code q} suppresses it) goes to sink. */
    void route(MetaCommand c, Cluster cluster, boolean readRepair, Completion sink) {
        if (cluster.copies() > 2 && (c.verb() == Verb.MS || c.verb() == Verb.MD || c.verb() == Verb.MA)) {
            sink = hintingFurtherCopies(cluster, c.routingKey(), sink);
        }
        switch (c.verb()) {
            case MN -> sink.accept(NOOP_REPLY, null);
            case MG -> get(c, cluster, readRepair, sink);
            case ME -> debug(c, cluster, sink);
            case MS -> {
                MetaCommand cmd = c.without("q");
                if (cmd.has('C')) {
                    // I only means something together with C: the backup's plain copy drops both
                    casWrite(cluster, cmd, cmd.without("CI"), false, answer(c, sink));
                } else {
                    replicate(cluster, cmd, cmd.retain(), answer(c, sink));
                }
            }
            case MD -> {
                MetaCommand cmd = c.without("q");
                if (cmd.has('C')) {
                    casWrite(cluster, cmd, cmd.without("C"), false, answer(c, sink));
                } else {
                    replicate(cluster, cmd, cmd, answer(c, sink));
                }
            }
            case MA -> arithmetic(c, cluster, readRepair, sink);
            default -> {
                ReferenceCountUtil.release(c);
                sink.accept(ErrorReply.UNKNOWN_COMMAND, null);
            }
        }
    }

    /**
     * These routes write the main and the first backup pool's copy. The copies in further pools
     * ({@code --backup-pool}) get a meta write through hinted handoff: once the main has answered, the key is
     * hinted on each of them, so that none serves it until the hint sweep (every second, for servers in
     * service) has rewritten it from the first copy in service; a write whose main failed leaves the hint to
     * the rejoin. Text writes reach every copy directly (ReplicatedWrite).
     */
    private static Completion hintingFurtherCopies(Cluster cluster, byte[] key, Completion sink) {
        return (reply, failure) -> {
            for (int pool = 2; pool < cluster.copies(); pool++) {
                BackendServer copy = cluster.copy(pool, key);
                copy.hints().record(key);
                if (copy.hints().overflowed() && copy.state() == BackendServer.State.UP) {
                    copy.markDown("missed more writes than its hint log holds");
                }
            }
            sink.accept(reply, failure);
        };
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

    // ---- reads ----------------------------------------------------------------------------------------

    /**
     * mg: the main answers; the backup when the main is down, hinted stale for the key, fails or answers a
     * server error. A miss on the main is read from the backup and the main refilled (not for {@code N}:
     * the main has just created the placeholder that makes the client recache, which writes both copies).
     * {@code T} touches the backup's copy too, as gat does.
     */
    private void get(MetaCommand c, Cluster cluster, boolean readRepair, Completion sink) {
        MetaCommand cmd = c.without("q");
        Completion client = answer(c, sink);
        byte[] key = cmd.routingKey();
        BackendServer main = cluster.mainFor(key);
        router.send(main, cmd, (r, f) -> {
            if (f != null || isServerError(r)) {
                readFromBackup(cluster, cmd, main, failureOf(main, r, f), true, client);
                return;
            }
            if (r instanceof MetaReply m && m.code().equals("EN")) {
                BackendServer backup = readRepair && !cmd.has('N') ? cluster.backupFor(key) : null;
                if (backup != null && !backup.hints().contains(key)) {
                    repairRead(cmd, main, backup, m, client);
                    return;
                }
                stats.misses(1);
            } else if (r instanceof MetaReply m && m.hit()) {
                stats.hits(1);
                if (cmd.has('T') && cluster.hasBackups()) {
                    touchBackup(cmd, cluster.backupFor(key));
                }
            }
            client.accept(r, null);
        });
    }

    /** me: the main's view of the item, or its copy's when the main cannot answer. */
    private void debug(MetaCommand c, Cluster cluster, Completion client) {
        BackendServer main = cluster.mainFor(c.routingKey());
        router.send(main, c, (r, f) -> {
            if (f != null || isServerError(r)) {
                readFromBackup(cluster, c, main, failureOf(main, r, f), false, client);
            } else {
                client.accept(r, null);
            }
        });
    }

    private void readFromBackup(Cluster cluster, MetaCommand cmd, BackendServer main, BackendException mainCause,
                                boolean countHits, Completion client) {
        byte[] key = cmd.routingKey();
        BackendServer backup = cluster.backupFor(key);
        if (backup == null) {
            client.accept(unavailable(key, main, mainCause, null, null), null);
            return;
        }
        stats.failover();
        router.send(backup, cmd, (r, f) -> {
            if (f != null) {
                client.accept(unavailable(key, main, mainCause, backup, noteFailure(f)), null);
                return;
            }
            if (countHits && r instanceof MetaReply m) {
                if (m.hit()) {
                    stats.hits(1);
                } else {
                    stats.misses(1);
                }
            }
            client.accept(r, null);
        });
    }

    /** The main missed: the backup's answer to the same mg goes to the client, and a hit refills the main. */
    private void repairRead(MetaCommand cmd, BackendServer main, BackendServer backup, MetaReply mainMiss,
                            Completion client) {
        router.send(backup, cmd, (r, f) -> {
            if (f == null && r instanceof MetaReply m && m.hit()) {
                mainMiss.release();
                stats.hits(1);
                client.accept(r, null);
                refill(cmd, main, backup);
                return;
            }
            if (f != null) {
                noteFailure(f);
            } else {
                ReferenceCountUtil.release(r);
            }
            stats.misses(1);
            client.accept(mainMiss, null);
        });
    }

    /**
     * Copies the backup's item to the main with an add ({@code ms ... ME}), so that a newer value written
     * meanwhile wins; with the backup's client flags and remaining TTL. An item about to expire is not copied.
     */
    private void refill(MetaCommand cmd, BackendServer main, BackendServer backup) {
        byte[] key = cmd.routingKey();
        router.send(backup, cmd.sameKey(Verb.MG, REFILL_READ, null), (r, f) -> {
            if (f != null) {
                noteFailure(f);
                return;
            }
            if (!(r instanceof MetaReply m && m.code().equals("VA") && m.data() != null)) {
                ReferenceCountUtil.release(r);
                return;
            }
            long ttl;
            long flags;
            try {
                ttl = Long.parseLong(orDefault(m.flag('t'), "-1"));
                flags = Long.parseLong(orDefault(m.flag('f'), "0"));
            } catch (NumberFormatException e) {
                log.warn("backup {} answered an unparsable mg reply {} {}", backup, m.code(), m.flags());
                m.release();
                return;
            }
            if (ttl == 0) {
                m.release();
                return;
            }
            List<String> add = new ArrayList<>(3);
            add.add("F" + flags);
            if (ttl > 0) {
                add.add("T" + Router.exptimeForRemainingTtl(ttl));
            }
            add.add("ME"); // mode E: add
            router.send(main, cmd.sameKey(Verb.MS, add, m.data()), (r2, f2) -> {
                if (f2 == null && r2 instanceof MetaReply stored && stored.code().equals("HD")) {
                    stats.readRepair();
                } else if (f2 != null) {
                    noteFailure(f2);
                }
                ReferenceCountUtil.release(r2);
            });
        });
        log.debug("refilling {} on {} from {}", dev.magent.protocol.Keys.toString(key), main, backup);
    }

    /** mg with T touched the main's copy: the backup's copy gets the same TTL, or a hint if it cannot. */
    private void touchBackup(MetaCommand cmd, BackendServer backup) {
        byte[] key = cmd.routingKey();
        MetaCommand touch = cmd.sameKey(Verb.MG, List.of("T" + cmd.token('T')), null);
        router.send(backup, touch, (r, f) -> backupWriteDone(key, backup, r, f));
    }

    // ---- writes ---------------------------------------------------------------------------------------

    /**
     * The common write rule: the main and the backup get the command at once; the client gets the main's
     * reply, or the backup's when the main is down or fails. A failed backup write is counted and hinted.
     */
    private void replicate(Cluster cluster, MetaCommand toMain, MetaCommand toBackup, Completion client) {
        byte[] key = toMain.routingKey();
        BackendServer main = cluster.mainFor(key);
        BackendServer backup = cluster.backupFor(key);
        if (backup == null) {
            toBackup.release(); // the reference taken for the backup's trip (ms); nothing for the others
        }
        Write write = new Write(key, main, backup, client);
        router.send(main, toMain, write);
        if (backup != null) {
            router.send(backup, toBackup, write::backupAnswered);
        }
    }

    /** One replicated write's two answers, in whichever order they come (either may come at once). */
    private final class Write implements Completion {
        private final byte[] key;
        private final BackendServer main;
        private final BackendServer backup;
        private final Completion client;
        private boolean mainDone;
        private BackendException mainCause;
        private boolean backupDone;
        private Reply backupReply;
        private Throwable backupFailure;

        Write(byte[] key, BackendServer main, BackendServer backup, Completion client) {
            this.key = key;
            this.main = main;
            this.backup = backup;
            this.client = client;
        }

        /** The main's answer. */
        @Override
        public void accept(Reply reply, Throwable failure) {
            mainDone = true;
            if (failure == null) {
                client.accept(reply, null);
                if (backupDone) {
                    backupWriteDone(key, backup, backupReply, backupFailure);
                }
                return;
            }
            mainCause = missed(main, key, failure);
            if (backup == null) {
                client.accept(unavailable(key, main, mainCause, null, null), null);
            } else if (backupDone) {
                failedOver();
            }
        }

        void backupAnswered(Reply reply, Throwable failure) {
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
                client.accept(backupReply, null);
            } else {
                client.accept(unavailable(key, main, mainCause, backup, noteFailure(backupFailure)), null);
            }
        }
    }

    /**
     * A write with a cas ({@code C}): the unique came from whichever server answered the client's read, so
     * it goes where mg goes, the main while it serves reads, else the backup (and the main is hinted). Once
     * the main has taken it, the backup gets {@code afterwards} (the same write without the cas); for
     * {@code ma} its result is then checked against the main's. A main that fails is not replaced by the
     * backup: its cas cannot match there.
     */
    private void casWrite(Cluster cluster, MetaCommand cmd, MetaCommand afterwards, boolean arithmetic,
                          Completion client) {
        byte[] key = cmd.routingKey();
        BackendServer main = cluster.mainFor(key);
        BackendServer backup = cluster.backupFor(key);
        if (!main.servesReads() && backup != null) {
            router.send(backup, cmd, (r, f) -> {
                if (f == null) {
                    stats.failover();
                    if (success(r)) {
                        main.hints().record(key);
                    }
                    client.accept(r, null);
                } else {
                    client.accept(unavailable(key, main, main.downException(), backup, noteFailure(f)), null);
                }
            });
            return;
        }
        // afterwards shares cmd's value (ms): one more reference for its own trip to the backup
        MetaCommand kept = backup == null ? null : afterwards.retain();
        router.send(main, cmd, (r, f) -> {
            if (f != null) {
                ReferenceCountUtil.release(kept);
                client.accept(unavailable(key, main, missed(main, key, f), null, null), null);
                return;
            }
            boolean stored = success(r);
            ByteBuf mainValue = arithmetic && stored ? valueOf(r) : null;
            client.accept(r, null);
            if (kept == null) {
                return;
            }
            if (!stored) {
                kept.release();
            } else if (arithmetic) {
                router.send(backup, kept, (r2, f2) -> reconcile(kept, backup, mainValue, r2, f2));
            } else {
                router.send(backup, kept, (r2, f2) -> backupWriteDone(key, backup, r2, f2));
            }
        });
    }

    /**
     * ma: main and backup both apply it (so the backup keeps its own flags and TTL); the value is always
     * asked for, and when the backup's differs from the main's (it missed the key, or had drifted) the
     * backup is set to the main's. A main that lost the key while the backup has it is refilled like a
     * read miss, and the client gets the backup's result.
     */
    private void arithmetic(MetaCommand c, Cluster cluster, boolean readRepair, Completion sink) {
        MetaCommand cmd = c.without("q");
        if (!cmd.has('v') && roomForOneMore(cmd)) {
            cmd = cmd.with("v");
        }
        Completion client = answer(c, sink);
        if (cmd.has('C')) {
            casWrite(cluster, cmd, cmd.without("C"), true, client);
            return;
        }
        byte[] key = cmd.routingKey();
        BackendServer main = cluster.mainFor(key);
        BackendServer backup = cluster.backupFor(key);
        PendingReply fromBackup = null;
        if (backup != null) {
            fromBackup = new PendingReply();
            router.send(backup, cmd, fromBackup);
        }
        PendingReply backupSide = fromBackup;
        MetaCommand sent = cmd;
        router.send(main, cmd, (r, f) -> {
            if (f != null) {
                BackendException cause = missed(main, key, f);
                if (backupSide == null) {
                    client.accept(unavailable(key, main, cause, null, null), null);
                    return;
                }
                backupSide.whenComplete((r2, f2) -> {
                    if (f2 == null) {
                        stats.failover();
                        client.accept(r2, null);
                    } else {
                        client.accept(unavailable(key, main, cause, backup, noteFailure(f2)), null);
                    }
                });
                return;
            }
            if (backupSide == null) {
                client.accept(r, null);
                return;
            }
            if (readRepair && r instanceof MetaReply m && m.code().equals("NF")) {
                backupSide.whenComplete((r2, f2) -> {
                    if (f2 == null && success(r2)) {
                        m.release();
                        client.accept(r2, null);
                        refill(sent, main, backup);
                    } else {
                        backupWriteDone(key, backup, f2 == null ? r2 : null, f2);
                        client.accept(m, null);
                    }
                });
                return;
            }
            ByteBuf mainValue = success(r) ? valueOf(r) : null;
            client.accept(r, null);
            backupSide.whenComplete((r2, f2) -> reconcile(sent, backup, mainValue, r2, f2));
        });
    }

    /**
     * Whether magent may add a flag to the client's command and still send memcached something it takes as
     * the client's command: the request must never be refused because of magent's addition (without it,
     * the copies are just not compared).
     */
    private static boolean roomForOneMore(MetaCommand cmd) {
        if (cmd.flags().size() >= MAX_FLAGS) {
            return false;
        }
        int length = 3 + cmd.key().length;
        for (String f : cmd.flags()) {
            length += 1 + f.length();
        }
        return length < MAX_LINE;
    }

    /** The backup's ma result against the main's value (null: nothing to compare): a differing copy is set. */
    private void reconcile(MetaCommand cmd, BackendServer backup, ByteBuf mainValue, Reply r, Throwable f) {
        byte[] key = cmd.routingKey();
        if (f != null || mainValue == null) {
            backupWriteDone(key, backup, r, f);
            ReferenceCountUtil.release(mainValue);
            return;
        }
        boolean same = r instanceof MetaReply m && m.code().equals("VA") && m.data() != null
                && ByteBufUtil.equals(m.data(), mainValue);
        backupWriteDone(key, backup, r, null);
        if (same) {
            mainValue.release();
            return;
        }
        // ms <key> <len> [b]: the main's number, as text incr's backup fix (flags 0, no expiry)
        router.send(backup, cmd.sameKey(Verb.MS, List.of(), mainValue),
                (r2, f2) -> backupWriteDone(key, backup, r2, f2));
    }

    private static ByteBuf valueOf(Reply r) {
        return r instanceof MetaReply m && m.data() != null ? Unpooled.copiedBuffer(m.data()) : null;
    }

    /** HD or VA: the write (or arithmetic) took effect. */
    private static boolean success(Reply r) {
        return r instanceof MetaReply m && (m.code().equals("HD") || m.code().equals("VA"));
    }

    private static boolean isServerError(Reply r) {
        return r instanceof ErrorReply e && e.kind() == ErrorReply.Kind.SERVER_ERROR;
    }

    // ---- failures (the same rules as Router's, kept here so that the two can change apart) ---------------

    private BackendException failureOf(BackendServer server, Reply r, Throwable f) {
        if (f != null) {
            return noteFailure(f);
        }
        String what = r instanceof ErrorReply e ? e.kind() + " " + e.message() : String.valueOf(r);
        ReferenceCountUtil.release(r);
        return noteFailure(new BackendException(BackendException.Reason.PROTOCOL, server.address(),
                "answered " + what));
    }

    private void backupWriteDone(byte[] key, BackendServer backup, Reply reply, Throwable failure) {
        if (failure != null) {
            stats.backupWriteError();
            BackendException cause = missed(backup, key, failure);
            log.debug("backup write to {} failed: {}", backup, cause.getMessage());
        } else {
            if (reply instanceof ErrorReply e) {
                stats.backupWriteError();
                log.debug("backup write to {} answered {} {}", backup, e.kind(), e.message());
            }
            ReferenceCountUtil.release(reply);
        }
    }

    private BackendException missed(BackendServer server, byte[] key, Throwable failure) {
        return router.routeContext().missed(server, key, failure);
    }

    private BackendException noteFailure(Throwable failure) {
        return router.routeContext().noteFailure(failure);
    }

    /** Every copy tried, in order, with why it could not answer (RouteContext words it). */
    private ErrorReply unavailable(byte[] key, BackendServer main, BackendException mainCause,
                                   BackendServer backup, BackendException backupCause) {
        return backup == null
                ? router.routeContext().unavailable(key, main, mainCause)
                : router.routeContext().unavailable(key, List.of(main, backup), Arrays.asList(mainCause, backupCause));
    }

    private static String orDefault(String s, String d) {
        return s == null ? d : s;
    }
}
