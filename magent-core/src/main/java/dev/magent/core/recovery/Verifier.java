package dev.magent.core.recovery;

import dev.magent.core.ProxyConfig;
import dev.magent.core.Transport;
import dev.magent.core.backend.BackendPool;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.Cluster;
import dev.magent.core.route.ReadRepair;
import dev.magent.protocol.Command;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Stat;
import dev.magent.protocol.StatsCommand;
import dev.magent.protocol.StatsReply;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Anti-entropy, {@code magent verify host:port} (docs/semantics.md, "Anti-entropy"): compares a server's
 * keys with their other copies and repairs what differs, while the server stays in service.
 * <ol>
 *   <li>The server's own keys ({@code lru_crawler metadump hash}): each is read with {@code mg <key> v f t c}
 *       on the key's authority (its first copy in service, the main unless it is out) and the copies
 *       compared with it (every other copy when the server is the authority, else the server alone).</li>
 *   <li>The other pools' keys that belong on the server and that it lacks ({@code mg <key>} answers
 *       {@code EN}): compared the same way, so a key missing on the server is found too.</li>
 *   <li>Keys repaired while their authority changed since the read are compared again, once every
 *       repair is at least a request timeout old (a client write in flight then has landed).</li>
 * </ol>
 * The authority's copy wins ({@link CopyComparison}); every repair is conditional on the copy being as read
 * ({@code add}, {@code cas}, {@code md ... C}), and is not sent when the authority's cas changed since its
 * read. Keys hinted on any copy are skipped: the hint replay owns them. Paced at {@code --resync-rate} keys
 * per second on one event loop.
 */
public final class Verifier {
    private static final Logger log = LoggerFactory.getLogger(Verifier.class);
    private static final List<String> VALUE_FLAGS_TTL_CAS = List.of("v", "f", "t", "c");
    private static final List<String> CAS_ONLY = List.of("c");
    private static final List<String> PRESENCE = List.of();
    /** Retries of a metadump that lists nothing from a server whose curr_items says it holds items. */
    private static final int EMPTY_DUMP_RETRIES = 3;
    /** Dumps asked again after memcached answered BUSY (its crawler was taken), and the pause between. */
    private static final int BUSY_RETRIES = 10;
    private static final long BUSY_RETRY_MILLIS = 200;
    /** Repaired keys remembered for the recheck; past this a run rechecks the first ones only. */
    private static final int MAX_RECHECKS = 100_000;

    // swapped by a reload on this loop
    private Cluster cluster;
    private final KeyCopier copier;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final SslContext tls;
    private int keysPerSecond;
    private long recheckDelayMillis;
    private final Map<BackendServer.Health, CompletableFuture<Void>> running = new ConcurrentHashMap<>();

    public Verifier(Cluster cluster, Backends backends, EventLoop loop, Transport transport, SslContext tls,
                    ProxyConfig config) {
        this.cluster = cluster;
        this.copier = new KeyCopier(backends, cluster.fences());
        this.loop = loop;
        this.tls = tls;
        this.keysPerSecond = config.resyncRate();
        this.recheckDelayMillis = config.requestTimeout().toMillis();
        this.bootstrap = BackendPool.baseBootstrap(transport, config.requestTimeout().toMillis())
                .option(ChannelOption.AUTO_READ, false);
    }

    /** Takes a reloaded configuration. */
    public void reconfigure(Cluster next, ProxyConfig config) {
        loop.execute(() -> {
            cluster = next;
            keysPerSecond = config.resyncRate();
            recheckDelayMillis = config.requestTimeout().toMillis();
        });
    }

    /**
     * Verifies a server now, or joins the run already going for it; completes when the run ended. Fails at
     * once when the server is not up (a syncing server is being rewritten anyway).
     */
    public CompletableFuture<Void> verify(BackendServer target) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> start(target).whenComplete((v, f) -> {
            if (f != null) {
                done.completeExceptionally(f);
            } else {
                done.complete(null);
            }
        }));
        return done;
    }

    private CompletableFuture<Void> start(BackendServer target) {
        return start(target, run -> scanOwn(run, 0).thenCompose(v -> scanOthers(run)));
    }

    /**
     * A run that compares exactly these keys instead of listing them with metadumps (the listing needs a
     * real memcached): what the unit tests drive over fake backends.
     */
    CompletableFuture<Void> verifyKeys(BackendServer target, List<byte[]> keys) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> start(target, run -> Pacer.pace(loop, keysPerSecond, keys.iterator(), key -> {
            run.progress.countListed();
            return compare(run, key);
        })).whenComplete((v, f) -> {
            if (f != null) {
                done.completeExceptionally(f);
            } else {
                done.complete(null);
            }
        }));
        return done;
    }

    private CompletableFuture<Void> start(BackendServer target,
                                          Function<Run, CompletableFuture<Void>> listing) {
        CompletableFuture<Void> existing = running.get(target.health());
        if (existing != null) {
            return existing;
        }
        if (target.state() != BackendServer.State.UP) {
            String why = target.address() + " is " + target.state().name().toLowerCase() + ", not up";
            log.warn("verify of {} not started: {}", target, why);
            return CompletableFuture.failedFuture(new IllegalStateException(why));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        running.put(target.health(), done);
        Run run = new Run(target);
        run.progress.start();
        log.info("verify of {} started", target);
        listing.apply(run)
                .thenCompose(v -> recheck(run))
                .whenComplete((v, f) -> {
                    running.remove(target.health());
                    run.progress.finish(f == null);
                    if (f == null) {
                        log.info("verify of {} done: {}", target, run.progress);
                        done.complete(null);
                    } else {
                        log.warn("verify of {} failed: {} ({})", target, f.getMessage(), run.progress);
                        done.completeExceptionally(f);
                    }
                });
        return done;
    }

    /** One run's state: the server, its counts, the repaired keys to look at again. */
    private static final class Run {
        final BackendServer target;
        final VerifyProgress progress;
        final List<Recheck> rechecks = new ArrayList<>();
        long lastRepairMillis;
        long listedHere;

        Run(BackendServer target) {
            this.target = target;
            this.progress = target.verifyProgress();
        }
    }

    /** A repaired key and what its authority held when read: a later change there means a client raced. */
    private record Recheck(byte[] key, BackendServer authority, Reading seen) {
    }

    /**
     * One server's copy of a key: present or not, its cas unique, and the value when it was read with
     * {@code v} (else null); {@code failed} when the server gave no usable answer.
     */
    record Reading(ReadRepair.Fetched fetched, boolean present, long cas, boolean failed) {
        static final Reading MISS = new Reading(null, false, 0, false);
        static final Reading FAILED = new Reading(null, false, 0, true);

        static Reading of(ReadRepair.Fetched f) {
            return new Reading(f, true, f.value().casUnique(), false);
        }

        /** The same item without its value (which stays the caller's to release). */
        Reading withoutValue() {
            return new Reading(null, present, cas, failed);
        }

        /** Whether both readings saw the same item: both misses, or hits with the same cas unique. */
        boolean sameItemAs(Reading other) {
            return !failed && !other.failed && present == other.present && (!present || cas == other.cas);
        }

        void release() {
            if (fetched != null) {
                fetched.value().data().release();
            }
        }
    }

    // ---- the passes -----------------------------------------------------------------------------------

    /**
     * The server's own keys. memcached 1.6.18's {@code metadump all} (the walk of a memcached before 1.6.9)
     * now and then answers a bare END although items exist: an empty dump from a server whose
     * {@code curr_items} is not 0 is retried.
     */
    private CompletableFuture<Void> scanOwn(Run run, int retries) {
        run.listedHere = 0;
        return dump(run.target, key -> {
            run.progress.countListed();
            run.listedHere++;
            return true;
        }, key -> compare(run, key), 0).thenCompose(v -> {
            if (run.listedHere > 0 || retries >= EMPTY_DUMP_RETRIES) {
                return CompletableFuture.completedFuture(null);
            }
            return currItems(run.target).thenCompose(items -> {
                if (items <= 0) {
                    return CompletableFuture.completedFuture(null);
                }
                log.info("{} listed no key in its metadump but holds {} items: dumping again", run.target, items);
                return scanOwn(run, retries + 1);
            });
        });
    }

    /** The keys of the other pools' servers in service that belong on the server and that it lacks. */
    private CompletableFuture<Void> scanOthers(Run run) {
        CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
        for (BackendServer source : cluster.all()) {
            if (source.pool() == run.target.pool() || !source.servesReads()) {
                continue;
            }
            all = all.thenCompose(v -> dump(source, key -> {
                if (!belongsOn(run.target, key)) {
                    return false;
                }
                run.progress.countListed();
                return true;
            }, key -> compareIfMissing(run, key), 0));
        }
        return all;
    }

    /**
     * One server's metadump with paced work on its keys. memcached runs one crawler at a time and answers
     * {@code BUSY} while another dump or crawl runs (a resync listing the same server): that answer comes
     * before any key, so the dump is asked again, a few times, {@link #BUSY_RETRY_MILLIS} apart.
     */
    private CompletableFuture<Void> dump(BackendServer source, Predicate<byte[]> keep,
                                         Function<byte[], CompletableFuture<?>> work, int attempt) {
        return MetadumpScan.run(bootstrap, loop, tls, source, keysPerSecond, keep, work).exceptionallyCompose(f -> {
            String why = String.valueOf(f.getMessage());
            if (!why.contains("BUSY") || attempt >= BUSY_RETRIES) {
                return CompletableFuture.failedFuture(f);
            }
            log.info("{}: {}; asking again", source, why);
            CompletableFuture<Void> waited = new CompletableFuture<>();
            loop.schedule(() -> waited.complete(null), BUSY_RETRY_MILLIS, TimeUnit.MILLISECONDS);
            return waited.thenCompose(v -> dump(source, keep, work, attempt + 1));
        });
    }

    /** Compares again the repaired keys whose authority changed since verify read it. */
    private CompletableFuture<Void> recheck(Run run) {
        if (run.rechecks.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        long wait = Math.max(0, run.lastRepairMillis + recheckDelayMillis - System.currentTimeMillis());
        CompletableFuture<Void> waited = new CompletableFuture<>();
        loop.schedule(() -> waited.complete(null), wait, TimeUnit.MILLISECONDS);
        List<Recheck> keys = List.copyOf(run.rechecks);
        run.rechecks.clear();
        return waited.thenCompose(v -> Pacer.pace(loop, keysPerSecond, keys.iterator(), rc ->
                read(rc.authority(), rc.key(), CAS_ONLY).thenCompose(now -> {
                    boolean changed = !now.sameItemAs(rc.seen());
                    now.release();
                    if (!changed) {
                        return CompletableFuture.completedFuture(null);
                    }
                    run.progress.countRechecked();
                    return compare(run, rc.key());
                })));
    }

    // ---- one key --------------------------------------------------------------------------------------

    private CompletableFuture<Void> compareIfMissing(Run run, byte[] key) {
        return send(run.target, new MetaGetCommand(key, PRESENCE)).handle((r, f) -> {
            boolean missing = f == null && r instanceof MetaReply m && m.code().equals("EN");
            ReferenceCountUtil.release(r);
            // present: compared in the first pass (unless the server's dump left it out: the next run's turn);
            // no answer: the next run's turn too
            return missing;
        }).thenCompose(missing -> missing ? compare(run, key) : CompletableFuture.completedFuture(null));
    }

    /** Reads the key on its authority and the copies compared with it, counts what differs, repairs it. */
    private CompletableFuture<Void> compare(Run run, byte[] key) {
        VerifyProgress p = run.progress;
        List<BackendServer> inService = new ArrayList<>(cluster.copies());
        for (int pool = 0; pool < cluster.copies(); pool++) {
            BackendServer s = cluster.copy(pool, key);
            if (s.servesReads() && !s.hints().contains(key)) {
                inService.add(s);
            }
        }
        if (!belongsOn(run.target, key) || !inService.contains(run.target) || inService.size() < 2) {
            p.countSkipped(); // not its key, or no two copies to compare (the hint replay owns hinted ones)
            return CompletableFuture.completedFuture(null);
        }
        BackendServer authority = inService.get(0);
        List<BackendServer> copies = authority == run.target ? inService.subList(1, inService.size())
                : List.of(run.target);
        p.countChecked();
        List<CompletableFuture<Reading>> reads = new ArrayList<>(copies.size() + 1);
        reads.add(read(authority, key, VALUE_FLAGS_TTL_CAS));
        for (BackendServer c : copies) {
            reads.add(read(c, key, VALUE_FLAGS_TTL_CAS));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            Reading a = reads.get(0).join();
            CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
            for (int i = 0; i < copies.size(); i++) {
                BackendServer copy = copies.get(i);
                Reading c = reads.get(i + 1).join();
                chain = chain.thenCompose(x -> settle(run, key, authority, a, copy, c));
            }
            return chain.whenComplete((x, f) -> {
                for (CompletableFuture<Reading> r : reads) {
                    r.join().release();
                }
            });
        });
    }

    /** Counts one copy's difference from the authority and repairs it, unless a client raced. */
    private CompletableFuture<Void> settle(Run run, byte[] key, BackendServer authority, Reading a,
                                           BackendServer copy, Reading c) {
        VerifyProgress p = run.progress;
        if (a.failed() || c.failed()) {
            p.countFailed();
            return CompletableFuture.completedFuture(null);
        }
        CopyComparison.Difference d = CopyComparison.compare(a.fetched(), c.fetched());
        p.count(d);
        Command fix = CopyComparison.repair(d, key, a.fetched(), c.fetched());
        if (fix == null) {
            return CompletableFuture.completedFuture(null);
        }
        // the authority's value must still be the one read: a client write since then makes it the past
        return read(authority, key, CAS_ONLY).thenCompose(now -> {
            boolean unchanged = now.sameItemAs(a);
            now.release();
            if (now.failed()) {
                ReferenceCountUtil.release(fix);
                p.countFailed(); // no answer is no proof of a client's write: the next run's turn
                return CompletableFuture.completedFuture(null);
            }
            if (!unchanged) {
                ReferenceCountUtil.release(fix);
                p.countRaced();
                return CompletableFuture.completedFuture(null);
            }
            return send(copy, fix).handle((r, f) -> {
                if (f != null) {
                    p.countFailed();
                } else if (CopyComparison.applied(r)) {
                    p.countRepaired();
                    run.lastRepairMillis = System.currentTimeMillis();
                    if (run.rechecks.size() < MAX_RECHECKS) {
                        run.rechecks.add(new Recheck(key, authority, a.withoutValue()));
                    }
                } else {
                    p.countRaced(); // the copy changed since the read (EXISTS, NOT_STORED, NF): its write wins
                }
                ReferenceCountUtil.release(r);
                return null;
            });
        });
    }

    private boolean belongsOn(BackendServer target, byte[] key) {
        return target.pool() < cluster.copies() && cluster.copy(target.pool(), key) == target;
    }

    /** {@code mg <key> <flags>} as a reading: EN a miss, VA/HD a hit, anything else or no answer failed. */
    private CompletableFuture<Reading> read(BackendServer server, byte[] key, List<String> flags) {
        return send(server, new MetaGetCommand(key, flags)).handle((r, f) -> {
            if (f != null) {
                return Reading.FAILED;
            }
            if (r instanceof MetaReply m && m.code().equals("EN")) {
                m.release();
                return Reading.MISS;
            }
            if (r instanceof MetaReply m && m.code().equals("HD")) {
                // a cas-only read: the item without its value
                String cas = m.flag('c');
                m.release();
                return cas == null ? Reading.FAILED : new Reading(null, true, Long.parseUnsignedLong(cas), false);
            }
            ReadRepair.Fetched fetched = ReadRepair.parse(key, r, server);
            return fetched == null ? Reading.FAILED : Reading.of(fetched);
        });
    }

    private CompletableFuture<Long> currItems(BackendServer server) {
        return send(server, StatsCommand.GENERAL).handle((r, f) -> {
            long items = 0;
            if (r instanceof StatsReply s) {
                for (Stat stat : s.stats()) {
                    if (stat.name().equals("curr_items")) {
                        items = Long.parseLong(stat.value());
                    }
                }
            }
            ReferenceCountUtil.release(r);
            return items;
        });
    }

    private CompletableFuture<Reply> send(BackendServer server, Command c) {
        return copier.send(server, c);
    }
}
