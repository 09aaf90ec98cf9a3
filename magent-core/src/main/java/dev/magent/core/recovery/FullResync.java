package dev.magent.core.recovery;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A returning server's full resync (docs/semantics.md, "Rejoin"): the other pools' servers list their keys
 * ({@link KeyLister}), the ones whose copy belongs on this server are read with {@code mg <key> v f t} and
 * written with {@code add} ({@link KeyCopier}), at most {@code --resync-rate} keys a second, so that nothing
 * written since is overwritten and nothing deleted since comes back. One run per server process: a server
 * that restarted again meanwhile stops the run copying into the process that is gone and starts over.
 * Runs on one event loop.
 */
final class FullResync {
    private static final Logger log = LoggerFactory.getLogger(FullResync.class);

    private final KeyCopier copier;
    private final KeyScan scan;
    private final EventLoop loop;
    private final Map<BackendServer.Health, Run> running = new ConcurrentHashMap<>();
    // swapped by a reload, on the loop
    private Cluster cluster;
    private int keysPerSecond;

    /** Lists a source's keys and runs paced work on those {@code keep} accepts ({@link MetadumpScan#run}). */
    public interface KeyScan {
        CompletableFuture<Void> run(BackendServer source, int perSecond, Predicate<byte[]> keep,
                                    Function<byte[], CompletableFuture<?>> work);
    }

    FullResync(Cluster cluster, KeyCopier copier, KeyScan scan, EventLoop loop, int keysPerSecond) {
        this.cluster = cluster;
        this.copier = copier;
        this.scan = scan;
        this.loop = loop;
        this.keysPerSecond = keysPerSecond;
    }

    /** Takes a reloaded configuration; on the loop. */
    void reconfigure(Cluster next, int nextKeysPerSecond) {
        cluster = next;
        keysPerSecond = nextKeysPerSecond;
    }

    private ResyncProgress progress(BackendServer s) {
        return s.resyncProgress();
    }

    /**
     * A full resync into the server's current process: joins one running into the same process; one still
     * copying into a process that is gone (the server restarted again meanwhile) is stopped, and the copy
     * starts over, since what it copied so far went with that process.
     */
    CompletableFuture<Void> resync(BackendServer target) {
        HealthProber.ServerIdentity process = target.identity();
        Run existing = running.get(target.health());
        if (existing != null && existing.process == process) {
            return existing.done;
        }
        Run run = new Run(process);
        running.put(target.health(), run);
        if (existing != null) { // replaced first: the old run's end then knows it is not the current one
            log.info("{} restarted during its resync ({}); copying its keys again into the new process", target,
                    progress(target));
            existing.cancel(target + " restarted during its resync: copying again into the new process");
        }
        ResyncProgress p = progress(target);
        p.start(ResyncProgress.Phase.RESYNCING);
        List<BackendServer> sources = sourcesFor(target);
        log.info("resync of {} from {} started", target, sources);
        CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
        for (BackendServer source : sources) {
            all = all.thenCompose(v -> resyncFrom(source, target, run));
        }
        all.whenComplete((v, f) -> {
            if (!running.remove(target.health(), run)) {
                run.done.completeExceptionally(new IllegalStateException(run.cancelledWhy));
                return; // superseded: the newer run reports progress
            }
            p.finish(f == null);
            if (f == null) {
                log.info("resync of {} done: {}", target, p);
                run.done.complete(null);
            } else {
                log.warn("resync of {} failed: {} ({})", target, f.getMessage(), p);
                run.done.completeExceptionally(f);
            }
        });
        return run.done;
    }

    /** One resync: the process it copies into, and whether it was stopped because that process is gone. */
    private static final class Run {
        final HealthProber.ServerIdentity process;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        boolean cancelled;
        String cancelledWhy = "superseded";

        Run(HealthProber.ServerIdentity process) {
            this.process = process;
        }

        void cancel(String why) {
            cancelled = true;
            cancelledWhy = why; // its copies stop; its listing runs out
        }
    }

    private boolean belongsOn(BackendServer target, byte[] key) {
        return target.pool() < cluster.copies() && cluster.copy(target.pool(), key) == target;
    }

    /**
     * The servers to list keys from: the other pools' in copy order, until one pool is wholly in service
     * (every key has a copy there). A pool with a server out adds the next pool, which holds the copies
     * of that server's keys; a key listed twice costs one {@code add} that answers NOT_STORED.
     */
    private List<BackendServer> sourcesFor(BackendServer target) {
        List<BackendServer> sources = new ArrayList<>();
        for (int pool = 0; pool < cluster.copies(); pool++) {
            if (pool == target.pool()) {
                continue;
            }
            boolean whole = true;
            for (BackendServer s : cluster.pool(pool)) {
                if (s.servesReads()) {
                    sources.add(s);
                } else {
                    whole = false;
                }
            }
            if (whole) {
                break;
            }
        }
        return sources;
    }

    /**
     * Copies the keys one source lists that belong on the target; a run stopped because its process is gone
     * lets the listing run out without copying.
     */
    private CompletableFuture<Void> resyncFrom(BackendServer source, BackendServer target, Run run) {
        if (run.cancelled) {
            return CompletableFuture.failedFuture(new IllegalStateException(run.cancelledWhy));
        }
        ResyncProgress p = progress(target);
        // a copy that failed (a timeout on a busy server) gets one more try once the dump is through
        List<byte[]> retry = new ArrayList<>();
        return scan.run(source, keysPerSecond, key -> {
            if (run.cancelled) {
                return false;
            }
            p.countScanned();
            if (!belongsOn(target, key)) {
                return false;
            }
            p.countMatched();
            return true;
        }, key -> copier.copy(source, target, key, false).thenApply(ok -> {
            if (!ok) {
                retry.add(key);
            }
            return null;
        })).thenCompose(v -> {
            if (run.cancelled) {
                return CompletableFuture.failedFuture(new IllegalStateException(run.cancelledWhy));
            }
            return retry.isEmpty() ? CompletableFuture.completedFuture(null)
                    : pace(retry.iterator(), key -> copier.copy(source, target, key, true));
        });
    }

    private <T> CompletableFuture<Void> pace(Iterator<T> items, Function<T, CompletableFuture<?>> work) {
        return Pacer.pace(loop, keysPerSecond, items, work);
    }
}
