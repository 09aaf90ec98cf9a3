package dev.magent.core.recovery;

import dev.magent.core.ProxyConfig;
import dev.magent.core.Transport;
import dev.magent.core.backend.BackendPool;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.Cluster;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.FlushAllCommand;
import dev.magent.protocol.StatusReply;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a returning server up to date before it serves reads again (docs/semantics.md, "Rejoin"):
 * <ol>
 *   <li>it restarted (another pid or start time than before): it is empty, its hints are moot, and its
 *       shard is copied back from the other copies (active resync) if configured;</li>
 *   <li>its hint log overflowed or it missed a flush_all: it is flushed and resynced in full;</li>
 *   <li>otherwise (it was cut off and kept its items) exactly its hinted keys are rewritten.</li>
 * </ol>
 * The resync is {@link FullResync}. The server serves again only when the recovery of its current process
 * ends: one that went down again meanwhile (perhaps restarted) stays out, and the next probe's recovery
 * decides. A delayed flush_all still pending is applied by the proxy, at its deadline, to a server that
 * missed or lost it. Runs on one event loop.
 */
public final class Rejoin implements HealthProber.Recovery {
    private static final Logger log = LoggerFactory.getLogger(Rejoin.class);
    private static final int MAX_HINT_PASSES = 5;
    private static final int MAX_RESYNC_ATTEMPTS = 3;
    private static final long HINT_SWEEP_SECONDS = 1;

    // swapped by a reload on this loop
    private Cluster cluster;
    /** Copies keys through the ungated send contract: a returning server is written to before it serves. */
    private final KeyCopier copier;
    private final EventLoop loop;
    private boolean autoResync;
    private int keysPerSecond;
    private final FullResync fullResync;
    private final java.util.Set<BackendServer.Health> sweeping = new java.util.HashSet<>();

    public Rejoin(Cluster cluster, Backends backends, EventLoop loop, Transport transport, SslContext tls,
                  ProxyConfig config) {
        this(cluster, backends, loop, config, metadump(BackendPool.baseBootstrap(transport,
                config.requestTimeout().toMillis()).option(ChannelOption.AUTO_READ, false), loop, tls));
    }

    /** The keys of a source as its metadump lists them ({@link MetadumpScan}). */
    private static FullResync.KeyScan metadump(io.netty.bootstrap.Bootstrap bootstrap, EventLoop loop, SslContext tls) {
        return (source, perSecond, keep, work) -> MetadumpScan.run(bootstrap, loop, tls, source, perSecond, keep, work);
    }

    /** With another way to list a source's keys (route tests list a fake server's). */
    public Rejoin(Cluster cluster, Backends backends, EventLoop loop, ProxyConfig config, FullResync.KeyScan lister) {
        this.cluster = cluster;
        this.copier = new KeyCopier(backends, cluster.fences());
        this.loop = loop;
        this.autoResync = config.autoResync();
        this.keysPerSecond = config.resyncRate();
        this.fullResync = new FullResync(cluster, copier, lister, loop, keysPerSecond);
        // a write can miss a server that stays up (one timeout, below the down threshold): its hint is
        // rewritten by this sweep rather than waiting for a rejoin that never comes
        loop.scheduleWithFixedDelay(this::sweepHints, HINT_SWEEP_SECONDS, HINT_SWEEP_SECONDS, TimeUnit.SECONDS);
    }

    private void sweepHints() {
        for (BackendServer s : cluster.all()) {
            if (s.state() != BackendServer.State.UP) {
                continue;
            }
            if (s.hints().overflowed() && !s.recordingWrites()) {
                // it missed writes the log could not name: any of its keys may be stale
                s.markDown("its hint log overflowed while in service; it rejoins by flush and resync");
            } else if (!s.hints().isEmpty() && !s.hints().overflowed() && !s.recordingWrites()) {
                // not during a resync: a hint resolved before a racing copy lands would let it stand
                resolveHints(s, 0);
            }
        }
    }

    /** Takes a reloaded configuration. */
    public void reconfigure(Cluster next, ProxyConfig config) {
        loop.execute(() -> {
            cluster = next;
            autoResync = config.autoResync();
            keysPerSecond = config.resyncRate();
            fullResync.reconfigure(next, keysPerSecond);
        });
    }

    public ResyncProgress progress(BackendServer s) {
        return s.resyncProgress();
    }

    @Override
    public CompletableFuture<Void> recover(BackendServer server, HealthProber.ServerIdentity seen) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> recoverOnLoop(server, seen).whenComplete((v, f) -> {
            if (f != null && server.identity() == seen) { // a superseded recovery's failure is moot
                done.completeExceptionally(f);
            } else {
                done.complete(null);
            }
        }));
        return done;
    }

    private CompletableFuture<Void> recoverOnLoop(BackendServer server, HealthProber.ServerIdentity seen) {
        HealthProber.ServerIdentity before = server.identity();
        server.identity(seen);
        boolean restarted = before != null ? seen.differsFrom(before)
                : seen.uptime() >= 0 && seen.uptime() * 1000 < System.currentTimeMillis() - server.downSinceMillis();
        boolean overflowed = server.hints().overflowed();
        CompletableFuture<Void> step = CompletableFuture.completedFuture(null);
        boolean fullResync = false;
        if (restarted) {
            log.info("{} restarted while down (it is empty): {}", server,
                    autoResync ? "copying its keys back from the other copies" : "read-repair will refill it");
            server.hints().clear();
            flushAtPendingDeadline(server);
            fullResync = autoResync;
        } else if (overflowed) {
            log.info("{} missed more writes than its hint log holds (or a flush_all): flushing and resyncing it",
                    server);
            progress(server).start(ResyncProgress.Phase.FLUSHING);
            server.hints().clear();
            flushAtPendingDeadline(server);
            step = flushNow(server);
            fullResync = true;
        }
        if (fullResync) {
            step = step.thenCompose(v -> resyncUntilHintsHold(server, seen, 1));
        }
        return step.thenCompose(v -> {
            // back in service, unless it went down again meanwhile (it may have restarted: what was copied
            // is gone, and the recovery that follows the next probe copies again); keys still hinted are
            // routed to the other copy until rewritten below
            if (server.identity() != seen || !server.markUpIfSyncing()) {
                log.info("{} went down again while being brought up to date; it stays out of service", server);
                return CompletableFuture.completedFuture(null);
            }
            return resolveHints(server, 0);
        });
    }

    /**
     * A resync while the server is out of service; if its hint log overflowed meanwhile (more writes
     * during the copy than it holds), some of those writes may have been copied over by older values, so
     * it runs again, a bounded number of times.
     */
    private CompletableFuture<Void> resyncUntilHintsHold(BackendServer server, HealthProber.ServerIdentity seen,
                                                         int attempt) {
        // a failed resync (a source is down too) does not keep the server out: read-repair still works
        return fullResync.resync(server).exceptionally(f -> null).thenCompose(v -> {
            if (server.identity() != seen || !server.hints().overflowed()) {
                return CompletableFuture.completedFuture(null);
            }
            if (attempt >= MAX_RESYNC_ATTEMPTS) {
                // writes outpace the copy: stay out of read service and try again after the next probe
                return CompletableFuture.failedFuture(new IllegalStateException(
                        "the hint log kept overflowing during " + attempt + " resyncs"));
            }
            log.info("{}: the hint log overflowed during the resync; flushing and resyncing again", server);
            server.hints().clear();
            return flushNow(server).exceptionally(f -> null)
                    .thenCompose(v2 -> resyncUntilHintsHold(server, seen, attempt + 1));
        });
    }

    /** Empties a server that missed writes nobody can list. */
    private CompletableFuture<Void> flushNow(BackendServer server) {
        return send(server, new FlushAllCommand(FlushAllCommand.NO_DELAY, false)).thenAccept(r -> {
            if (r != StatusReply.OK) {
                ReferenceCountUtil.release(r);
                throw new IllegalStateException("flush_all answered " + r);
            }
        });
    }

    /**
     * A {@code flush_all N} whose deadline is still ahead, which this server missed (it was down) or lost
     * (it restarted), is applied to it by the proxy at the deadline, as an immediate flush_all: replaying
     * {@code flush_all <remaining>} instead would replace the flush the server was just given, and memcached
     * then serves again the items that flush had removed and it had not yet reaped. Not if another
     * flush_all replaced that one meanwhile (memcached keeps one flush time).
     */
    private void flushAtPendingDeadline(BackendServer server) {
        long now = System.currentTimeMillis();
        long deadline = cluster.fences().pendingFlushDeadline(now);
        if (deadline == 0) {
            return;
        }
        // memcached's flush_all N takes effect a second early (its oldest_live is the deadline minus one)
        long due = Math.max(0, deadline - 1000 - now);
        log.info("{} missed a flush_all due in {} ms: the proxy flushes it then", server, due);
        loop.schedule(() -> {
            if (cluster.fences().pendingFlushDeadline(deadline - 1) != deadline) {
                return; // replaced by a later flush_all, which reached this server or is handled likewise
            }
            send(server, new FlushAllCommand(FlushAllCommand.NO_DELAY, false)).whenComplete((r, f) -> {
                if (f != null || r != StatusReply.OK) {
                    ReferenceCountUtil.release(r);
                    server.hints().markOverflowed(); // missed it: flushed and resynced when it returns
                    if (server.state() == BackendServer.State.UP) {
                        server.markDown("missed the flush_all due now");
                    }
                }
            });
        }, due, TimeUnit.MILLISECONDS);
    }

    /**
     * Runs a full resync now (the admin command), while the server stays in service: writes sent to it
     * meanwhile are hinted and rewritten afterwards, so a copy racing a client's write or delete of the
     * same key cannot leave the older value behind. Joins one already running for the server.
     */
    public CompletableFuture<Void> resyncNow(BackendServer server) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            server.recordingWrites(true);
            fullResync.resync(server).whenComplete((v, f) -> server.recordingWrites(false))
                    .thenCompose(v -> resolveHints(server, 0))
                    .whenComplete((v, f) -> {
                        if (f != null) {
                            done.completeExceptionally(f);
                        } else {
                            done.complete(null);
                        }
                    });
        });
        return done;
    }

    // ---- hinted keys ----------------------------------------------------------------------------------

    /**
     * Rewrites every hinted key from the other copy, pass after pass until the log is empty, at most one
     * run per server at a time. Keys whose copy keeps failing (the other copy is down too) stay hinted, so
     * still routed away, and the sweep retries them every second.
     */
    private CompletableFuture<Void> resolveHints(BackendServer server, int passes) {
        if (passes == 0) {
            if (!sweeping.add(server.health())) {
                return CompletableFuture.completedFuture(null);
            }
            return resolvePasses(server, 0).whenComplete((v, f) -> sweeping.remove(server.health()));
        }
        return resolvePasses(server, passes);
    }

    private CompletableFuture<Void> resolvePasses(BackendServer server, int passes) {
        HintLog hints = server.hints();
        if (hints.isEmpty() || server.state() != BackendServer.State.UP || passes >= MAX_HINT_PASSES) {
            return CompletableFuture.completedFuture(null);
        }
        ResyncProgress p = progress(server);
        p.phase(ResyncProgress.Phase.HINTS);
        log.debug("{}: rewriting {} hinted keys from the other copy", server, hints.size());
        List<HintLog.Hint> batch = hints.snapshot(Integer.MAX_VALUE);
        CompletableFuture<Void> pass = pace(batch.iterator(), hint -> rewrite(server, hint));
        return pass.thenCompose(v -> {
            if (hints.isEmpty()) {
                log.info("{}: hinted keys rewritten from the other copy ({} so far)", server, p.hintsResolved());
                p.finish(true);
                return CompletableFuture.completedFuture(null);
            }
            // keys written again meanwhile, or whose copy failed: another pass
            return resolvePasses(server, passes + 1);
        });
    }

    /**
     * One hinted key: delete it on the returning server, read another copy, and add that value back. The
     * delete-then-add order means a client write landing in between is never overwritten. The source is
     * the first other copy in pool order that serves reads and is not stale for the key itself.
     */
    private CompletableFuture<Void> rewrite(BackendServer target, HintLog.Hint hint) {
        byte[] key = hint.key();
        BackendServer source = sourceFor(target, key);
        ResyncProgress p = progress(target);
        return send(target, new DeleteCommand(key, false)).thenCompose(deleted -> {
            ReferenceCountUtil.release(deleted);
            if (source == null) {
                // no other copy can be read: with copies configured, keep the hint and retry later
                return CompletableFuture.completedFuture(cluster.copies() == 1);
            }
            return copier.copy(source, target, key, true);
        }).handle((ok, f) -> {
            if (f == null && Boolean.TRUE.equals(ok) && target.hints().resolved(hint)) {
                p.hintResolved();
            }
            return null;
        });
    }

    /** The copy of {@code key} to read for {@code target}: another pool's, in service and not stale. */
    private BackendServer sourceFor(BackendServer target, byte[] key) {
        for (int pool = 0; pool < cluster.copies(); pool++) {
            if (pool == target.pool()) {
                continue;
            }
            BackendServer s = cluster.copy(pool, key);
            if (s.servesReads() && !s.hints().contains(key)) {
                return s;
            }
        }
        return null;
    }

    private CompletableFuture<dev.magent.protocol.Reply> send(BackendServer server, dev.magent.protocol.Command c) {
        return copier.send(server, c);
    }

    private <T> CompletableFuture<Void> pace(Iterator<T> items, Function<T, CompletableFuture<?>> work) {
        return Pacer.pace(loop, keysPerSecond, items, work);
    }

    /** For stats: every server's catch-up progress so far. */
    public List<Map.Entry<BackendServer, ResyncProgress>> allProgress() {
        List<Map.Entry<BackendServer, ResyncProgress>> out = new ArrayList<>();
        for (BackendServer s : cluster.all()) {
            ResyncProgress p = s.resyncProgress();
            if (p.runs() > 0 || p.hintsResolved() > 0) {
                out.add(Map.entry(s, p));
            }
        }
        return out;
    }
}
