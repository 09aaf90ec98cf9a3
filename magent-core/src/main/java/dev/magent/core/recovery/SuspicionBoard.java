package dev.magent.core.recovery;

import dev.magent.core.ServerAddress;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.PendingReply;
import dev.magent.core.backend.SuspicionGate;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the proxies of one cluster tell each other about servers that missed writes (docs/partitions.md,
 * "No stale reads across proxies"), through records on the memcached servers themselves:
 * <ul>
 *   <li>{@code __magent_suspect_<server>}: the ids of the proxies that failed writes over away from that
 *       server and have not yet replayed them there. A main's on every backup, a backup's on every other
 *       server ({@link #isPlace}): never on the server itself, so a proxy that cannot reach it can still
 *       write it, and any one place that answers tells a reader everything under a single fault;</li>
 *   <li>{@code __magent_alive_<proxy>}: set every poll with a TTL of {@value #ALIVE_TTL_SECONDS} s on every
 *       backup, and on the mains too while the proxy holds an entry: a proxy whose key has expired
 *       everywhere has died;</li>
 *   <li>{@code __magent_proxies}: the ids of the proxies of the cluster, on the backups, so a proxy knows
 *       whose alive key to look for and whether it is alone.</li>
 * </ul>
 * Every poll interval the board reads all records from every server in one {@code gets} each, writes this
 * proxy's own entries (with {@code cas}, so proxies never overwrite each other's; an emptied record is deleted), and sets each server's
 * {@link BackendServer.Suspicion}: a server another proxy suspects serves no reads here until that proxy
 * clears its entry; when this proxy's polls have not completed within the validity period (poll interval
 * + request timeout + margin: this proxy stalled), and other proxies exist, it reads that server no more
 * either, as it cannot rule a suspicion out. A poll whose places of a record all failed keeps the entries
 * read before: under a single fault no proxy can fail writes over to places this one cannot reach. A write that missed a copy is acknowledged only once the
 * suspicion is recorded and one validity period has passed ({@link #whenVisible}), so every other proxy
 * has seen it by then. An entry whose proxy died is replaced by this proxy's own, and the server is
 * flushed and resynced ({@link Rejoin}). Runs on one event loop.
 */
public final class SuspicionBoard implements SuspicionGate {
    private static final Logger log = LoggerFactory.getLogger(SuspicionBoard.class);
    /** Every key the proxies keep for themselves starts so: never copied, compared or repaired as data. */
    public static final String RESERVED_PREFIX = "__magent_";
    static final String RECORD_PREFIX = RESERVED_PREFIX + "suspect_";
    static final String ALIVE_PREFIX = RESERVED_PREFIX + "alive_";
    static final String MEMBERS_KEY = RESERVED_PREFIX + "proxies";
    static final int ALIVE_TTL_SECONDS = 10;
    private static final long MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final String proxyId;
    private final EventLoop loop;
    private final Backends backends;
    private final long pollMillis;
    private final long validityNanos;
    private Cluster cluster;
    private boolean ticking;
    private boolean again;
    private boolean stopped;
    private ScheduledFuture<?> timer;
    /** The other proxies and every holder of an entry, as last read: whose alive keys the next poll reads. */
    private Set<String> known = Set.of();
    /** No other proxy found by the last poll a backup answered; false until one did (read on every loop). */
    private volatile boolean alone;
    private final Map<ServerAddress, Own> own = new HashMap<>();
    /** When a poll that got an answer from a place of the server's record started (System.nanoTime()). */
    private final Map<ServerAddress, Long> freshAt = new HashMap<>();
    private final Map<ServerAddress, List<String>> foreign = new HashMap<>();
    private final Map<ServerAddress, Long> suspectedSince = new HashMap<>();
    private final CompletableFuture<Void> firstPoll = new CompletableFuture<>();

    /** This proxy's suspicion of one server: when it was recorded, and the acknowledgements waiting for it. */
    private static final class Own {
        long recordedAt;
        List<Waiter> waiters = new ArrayList<>();
    }

    private record Waiter(EventExecutor loop, Runnable acknowledge, Runnable refuse) {
    }

    /**
     * @param proxyId       this proxy's id: letters, digits, {@code .-_:} (at most 80), unique among the cluster's proxies and their runs
     * @param pollMillis    how often the records are read and this proxy's entries written
     * @param timeoutMillis the backend request timeout: a poll of a hung server takes this long
     */
    public SuspicionBoard(String proxyId, Cluster cluster, Backends backends, EventLoop loop, long pollMillis,
                          long timeoutMillis) {
        if (!validId(proxyId)) {
            throw new IllegalArgumentException("a proxy id is 1 to 80 letters, digits or .-_: characters: " + proxyId);
        }
        this.proxyId = proxyId;
        this.cluster = cluster;
        this.backends = backends;
        this.loop = loop;
        this.pollMillis = pollMillis;
        this.validityNanos = TimeUnit.MILLISECONDS.toNanos(pollMillis + timeoutMillis) + MARGIN_NANOS;
    }

    static boolean validId(String id) {
        return id != null && id.matches("[A-Za-z0-9._:-]{1,80}");
    }

    public String proxyId() {
        return proxyId;
    }

    /** How long a view of the records counts, and how long an acknowledgement waits after recording. */
    public long validityMillis() {
        return TimeUnit.NANOSECONDS.toMillis(validityNanos);
    }

    /** Starts polling; the future completes after the first poll (whatever it found). */
    public CompletableFuture<Void> start() {
        loop.execute(() -> {
            tick();
            timer = loop.scheduleWithFixedDelay(this::tick, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
        });
        return firstPoll;
    }

    /** Stops polling; acknowledgements still waiting are refused (the write is not known to be visible). */
    public void stop() {
        loop.execute(() -> {
            stopped = true;
            if (timer != null) {
                timer.cancel(false);
            }
            for (Own o : own.values()) {
                for (Waiter w : o.waiters) {
                    w.loop().execute(w.refuse());
                }
                o.waiters.clear();
            }
            firstPoll.complete(null);
        });
    }

    /** Takes a reloaded configuration's cluster; on the board's loop. */
    public void reconfigure(Cluster next) {
        cluster = next;
    }

    /**
     * True while the last poll found no other proxy: then writes are acknowledged at once (the suspicion
     * is still recorded). A proxy that starts meanwhile reads the record at its first poll, before it
     * serves; it can miss only a write acknowledged in the moment before this proxy's record landed.
     */
    @Override
    public boolean alone() {
        return alone;
    }

    @Override
    public void whenVisible(BackendServer missed, EventExecutor caller, Runnable acknowledge, Runnable refuse) {
        long at = missed.suspicionVisibleAtNanos();
        if (alone || at != 0 && System.nanoTime() - at >= 0) {
            if (alone && at == 0) {
                loop.execute(this::tick); // recorded all the same, for a proxy that starts later
            }
            acknowledge.run();
            return;
        }
        loop.execute(() -> {
            Waiter w = new Waiter(caller, acknowledge, refuse);
            if (stopped) {
                caller.execute(refuse);
                return;
            }
            Own o = own.computeIfAbsent(missed.address(), a -> new Own());
            if (o.recordedAt != 0) {
                acknowledgeAt(w, o.recordedAt + validityNanos);
            } else {
                o.waiters.add(w);
                tick();
            }
        });
    }

    private static void acknowledgeAt(Waiter w, long atNanos) {
        long delay = atNanos - System.nanoTime();
        if (delay <= 0) {
            w.loop().execute(w.acknowledge());
        } else {
            w.loop().schedule(w.acknowledge(), delay, TimeUnit.NANOSECONDS);
        }
    }

    /** Whether this proxy's view says the server missed writes it has not replayed there. */
    private static boolean missedWrites(BackendServer s) {
        return s.state() != BackendServer.State.UP || !s.hints().isEmpty() || s.hintsOverflowed();
    }

    // ---- one poll ------------------------------------------------------------------------------------

    private void tick() {
        if (stopped) {
            return;
        }
        if (ticking) {
            again = true;
            return;
        }
        long start = System.nanoTime();
        BackendServer[] servers = cluster.all();
        if (cluster.copies() < 2) {
            firstPoll.complete(null); // one copy of every key: no write is ever failed over
            return;
        }
        ticking = true;
        List<String> askedAlive = List.copyOf(known);
        List<CompletableFuture<Map<String, Value>>> polls = new ArrayList<>(servers.length);
        for (BackendServer place : servers) {
            if (place.state() == BackendServer.State.DOWN) {
                // unreachable from here: a poll would only wait for its timeout and hold the others' up
                polls.add(CompletableFuture.completedFuture(null));
                continue;
            }
            List<byte[]> keys = new ArrayList<>(servers.length + askedAlive.size() + 1);
            keys.add(bytes(MEMBERS_KEY));
            for (BackendServer s : servers) {
                if (isPlace(place, s)) {
                    keys.add(bytes(recordKey(s)));
                }
            }
            for (String id : askedAlive) {
                keys.add(bytes(ALIVE_PREFIX + id));
            }
            polls.add(send(place, new RetrievalCommand(Verb.GETS, keys, 0)).handle((r, f) -> values(r)));
        }
        CompletableFuture.allOf(polls.toArray(new CompletableFuture<?>[0])).whenComplete((v, f) ->
                loop.execute(() -> {
                    try {
                        afterPoll(start, servers, askedAlive, polls);
                    } catch (RuntimeException e) {
                        log.error("suspicion board: poll failed", e);
                        endTick(start);
                    }
                }));
    }

    private void afterPoll(long start, BackendServer[] servers, List<String> askedAlive,
                           List<CompletableFuture<Map<String, Value>>> polls) {
        List<Map<String, Value>> answers = new ArrayList<>(servers.length);
        for (CompletableFuture<Map<String, Value>> p : polls) {
            answers.add(p.join());
        }
        boolean anyAnswered = answers.stream().anyMatch(a -> a != null);
        // the proxies of the cluster, and which of those asked about have no alive key left anywhere
        Set<String> members = new LinkedHashSet<>();
        Set<String> alive = new LinkedHashSet<>();
        for (Map<String, Value> a : answers) {
            if (a != null) {
                members.addAll(tokens(a.get(MEMBERS_KEY)));
                for (String id : askedAlive) {
                    if (a.containsKey(ALIVE_PREFIX + id)) {
                        alive.add(id);
                    }
                }
            }
        }
        Set<String> dead = new LinkedHashSet<>();
        boolean backupAnswered = false; // every proxy's alive key is on every backup
        for (int x = 0; x < servers.length; x++) {
            backupAnswered |= servers[x].pool() > 0 && answers.get(x) != null;
        }
        if (backupAnswered) {
            for (String id : askedAlive) {
                if (!alive.contains(id)) {
                    dead.add(id);
                }
            }
        }
        List<CompletableFuture<Boolean>> writes = new ArrayList<>();
        Map<BackendServer, List<CompletableFuture<Boolean>>> ownWrites = new HashMap<>();
        Map<BackendServer, Boolean> seenMine = new HashMap<>();
        Map<BackendServer, Boolean> wanted = new HashMap<>();
        Set<String> allHolders = new LinkedHashSet<>();
        for (int i = 0; i < servers.length; i++) {
            BackendServer s = servers[i];
            Set<String> holders = new LinkedHashSet<>();
            boolean fresh = false;
            for (int x = 0; x < servers.length; x++) {
                if (isPlace(servers[x], s) && answers.get(x) != null) {
                    fresh = true;
                    holders.addAll(tokens(answers.get(x).get(recordKey(s))));
                }
            }
            if (!fresh) {
                // No place of its record answered (each timed out, refused or is down here). Under a single
                // fault no other proxy can be failing writes over to places this proxy cannot reach, so the
                // view is as fresh as the poll; what was read before is kept, never forgotten.
                holders.addAll(foreign.getOrDefault(s.address(), List.of()));
            }
            allHolders.addAll(holders);
            freshAt.put(s.address(), start); // the poll completed: only a proxy whose polls stall goes stale
            Set<String> deadHolders = new LinkedHashSet<>(holders);
            deadHolders.retainAll(dead);
            deadHolders.remove(proxyId);
            if (!deadHolders.isEmpty()) {
                claim(s, deadHolders);
            }
            boolean want = missedWrites(s);
            wanted.put(s, want);
            seenMine.put(s, holders.contains(proxyId));
            List<String> by = new ArrayList<>(holders);
            by.remove(proxyId);
            foreign.put(s.address(), by);
            for (int x = 0; x < servers.length; x++) {
                Map<String, Value> a = answers.get(x);
                if (!isPlace(servers[x], s) || a == null) {
                    continue;
                }
                Value current = a.get(recordKey(s));
                Set<String> next = new LinkedHashSet<>(tokens(current));
                boolean mineThere = next.contains(proxyId);
                next.removeAll(deadHolders);
                if (want) {
                    next.add(proxyId);
                } else {
                    next.remove(proxyId);
                }
                if (!next.equals(new LinkedHashSet<>(tokens(current)))) {
                    CompletableFuture<Boolean> w = store(servers[x], recordKey(s), current, next, 0);
                    writes.add(w);
                    if (want && !mineThere) {
                        ownWrites.computeIfAbsent(s, k -> new ArrayList<>()).add(w);
                    }
                }
            }
        }
        // this proxy in the members' list, dead members out of it, and this proxy's alive key everywhere
        Set<String> nextOthers = new LinkedHashSet<>(members);
        nextOthers.removeAll(dead);
        nextOthers.remove(proxyId);
        for (int x = 0; x < servers.length; x++) {
            Map<String, Value> a = answers.get(x);
            if (a == null || servers[x].pool() == 0) {
                continue; // kept on the backups only: the mains' items are what clients see in stats
            }
            Set<String> there = new LinkedHashSet<>(tokens(a.get(MEMBERS_KEY)));
            Set<String> next = new LinkedHashSet<>(there);
            next.removeAll(dead);
            next.add(proxyId);
            if (!next.equals(there)) {
                writes.add(store(servers[x], MEMBERS_KEY, a.get(MEMBERS_KEY), next, 0));
            }
        }
        // on the mains too while this proxy holds an entry: then a proxy that cannot reach the backups (the
        // cut this proxy may be recording) still finds it alive, and does not take its entries over
        boolean holding = wanted.containsValue(true);
        for (BackendServer place : servers) {
            if (place.pool() > 0 || holding) {
                writes.add(set(place, ALIVE_PREFIX + proxyId, "1", ALIVE_TTL_SECONDS));
            }
        }
        for (Map<String, Value> a : answers) {
            release(a);
        }
        if (backupAnswered) {
            alone = nextOthers.isEmpty();
            Set<String> nextKnown = new LinkedHashSet<>(nextOthers);
            nextKnown.addAll(allHolders);
            nextKnown.remove(proxyId);
            known = nextKnown;
        }
        CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0])).whenComplete((v, f) ->
                loop.execute(() -> {
                    try {
                        afterWrites(start, servers, wanted, seenMine, ownWrites);
                    } finally {
                        endTick(start);
                    }
                }));
    }

    /**
     * A proxy that recorded this server missed its writes has died: nobody can replay them, so this proxy
     * takes the suspicion over (its own entry replaces the dead one) and flushes and resyncs the server.
     */
    private void claim(BackendServer s, Set<String> deadHolders) {
        if (!s.hintsOverflowed()) {
            log.warn("{}: proxy {} recorded that it missed writes and stopped renewing its alive key; "
                    + "flushing and resyncing it from the other copies", s, String.join(", ", deadHolders));
        }
        s.hints().markOverflowed();
        s.markDown("missed writes of a proxy that died (" + String.join(", ", deadHolders) + ")");
    }

    private void afterWrites(long start, BackendServer[] servers, Map<BackendServer, Boolean> wanted,
                             Map<BackendServer, Boolean> seenMine,
                             Map<BackendServer, List<CompletableFuture<Boolean>>> ownWrites) {
        long now = System.nanoTime();
        for (BackendServer s : servers) {
            Own o = own.computeIfAbsent(s.address(), a -> new Own());
            boolean want = wanted.get(s);
            boolean stored = seenMine.get(s) || ownWrites.getOrDefault(s, List.of()).stream()
                    .anyMatch(w -> w.getNow(false));
            if (want && stored) {
                if (o.recordedAt == 0) {
                    o.recordedAt = now;
                }
            } else {
                o.recordedAt = 0;
            }
            s.suspicionVisibleAtNanos(o.recordedAt == 0 ? 0 : o.recordedAt + validityNanos);
            if (o.waiters.isEmpty()) {
                continue;
            }
            if (o.recordedAt != 0) {
                for (Waiter w : o.waiters) {
                    acknowledgeAt(w, o.recordedAt + validityNanos);
                }
                o.waiters.clear();
            } else if (!missedWrites(s)) {
                for (Waiter w : o.waiters) {
                    w.loop().execute(w.acknowledge()); // caught up meanwhile: nothing missed to tell
                }
                o.waiters.clear();
            } else if (want && !ownWrites.containsKey(s) && !seenMine.get(s)) {
                // no place of the record answered: nobody can be told, so the write is not acknowledged
                log.warn("{}: could not record that it missed writes on any server; refusing {} acknowledgements",
                        s, o.waiters.size());
                for (Waiter w : o.waiters) {
                    w.loop().execute(w.refuse());
                }
                o.waiters.clear();
            } else {
                again = true; // lost a cas race, or wanted only since the poll: the next poll records it
            }
        }
        applyViews(now);
        long expiry = start + validityNanos - System.nanoTime();
        loop.schedule(() -> applyViews(System.nanoTime()), Math.max(0, expiry) + 1_000_000, TimeUnit.NANOSECONDS);
    }

    private void endTick(long start) {
        ticking = false;
        firstPoll.complete(null);
        if (again) {
            again = false;
            tick();
        }
    }

    /** Sets each server's suspicion as last read, marking views that are too old to rule one out. */
    private void applyViews(long now) {
        if (stopped) {
            return;
        }
        for (BackendServer s : cluster.all()) {
            List<String> by = foreign.getOrDefault(s.address(), List.of());
            Long fresh = freshAt.get(s.address());
            boolean stale = !alone && (fresh == null || now - fresh >= validityNanos) && !placesOutOfService(s);
            long since = 0;
            if (!by.isEmpty()) {
                since = suspectedSince.computeIfAbsent(s.address(), a -> System.currentTimeMillis());
            } else {
                suspectedSince.remove(s.address());
            }
            s.suspicion(new BackendServer.Suspicion(by, since, stale));
        }
    }

    /**
     * Whether no server that keeps this one's record is in service here: then no proxy can have
     * acknowledged a write that missed this one through another copy this proxy could read, and it is read.
     */
    private boolean placesOutOfService(BackendServer s) {
        for (BackendServer p : cluster.all()) {
            if (isPlace(p, s) && p.state() == BackendServer.State.UP) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code place} keeps the record of {@code s}: a main's on every backup, a backup's on every
     * other server. Never on the server itself (whoever must write it cannot reach that one), and a main's
     * never on the mains, whose items clients see in {@code stats}; a backup's record exists only while a
     * proxy suspects it.
     */
    static boolean isPlace(BackendServer place, BackendServer s) {
        return place != s && (s.pool() > 0 || place.pool() > 0);
    }

    // ---- records -------------------------------------------------------------------------------------

    static String recordKey(BackendServer s) {
        return RECORD_PREFIX + s.address();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The ids a record holds (space-separated). */
    static List<String> tokens(Value v) {
        if (v == null || v.data().readableBytes() == 0) {
            return List.of();
        }
        String text = v.data().toString(v.data().readerIndex(), v.data().readableBytes(), StandardCharsets.US_ASCII);
        List<String> out = new ArrayList<>();
        for (String t : text.split(" ")) {
            if (validId(t)) {
                out.add(t);
            }
        }
        return out;
    }

    private static Map<String, Value> values(Reply r) {
        if (!(r instanceof ValuesReply values)) {
            ReferenceCountUtil.release(r);
            return null;
        }
        Map<String, Value> out = new HashMap<>();
        for (Value v : values.values()) {
            out.put(new String(v.key(), StandardCharsets.US_ASCII), v);
        }
        return out;
    }

    private static void release(Map<String, Value> a) {
        if (a != null) {
            for (Value v : a.values()) {
                v.data().release();
            }
        }
    }

    /** Writes a record's new ids: cas over what was read, add where there was nothing. True when stored. */
    private CompletableFuture<Boolean> store(BackendServer place, String key, Value current, Set<String> ids,
                                             int ttl) {
        if (ids.isEmpty() && current != null) {
            // gone rather than empty, unless another proxy wrote it since it was read
            return send(place, MetaCommand.of(Verb.MD, bytes(key),
                    List.of("C" + Long.toUnsignedString(current.casUnique())))).handle((r, f) -> {
                        ReferenceCountUtil.release(r);
                        return false;
                    });
        }
        byte[] value = bytes(String.join(" ", ids));
        StorageCommand c = current == null
                ? new StorageCommand(Verb.ADD, bytes(key), 0, ttl, 0, Unpooled.wrappedBuffer(value), false)
                : new StorageCommand(Verb.CAS, bytes(key), 0, ttl, current.casUnique(), Unpooled.wrappedBuffer(value), false);
        return send(place, c).handle((r, f) -> {
            boolean stored = r == StatusReply.STORED;
            ReferenceCountUtil.release(r);
            if (!stored && f == null && log.isDebugEnabled()) {
                log.debug("{}: {} of {} answered {}", place, c.verb(), key, r);
            }
            return stored;
        });
    }

    private CompletableFuture<Boolean> set(BackendServer place, String key, String value, int ttl) {
        return send(place, new StorageCommand(Verb.SET, bytes(key), 0, ttl, 0, Unpooled.wrappedBuffer(bytes(value)), false))
                .handle((r, f) -> {
                    ReferenceCountUtil.release(r);
                    return r == StatusReply.STORED;
                });
    }

    private CompletableFuture<Reply> send(BackendServer server, dev.magent.protocol.Command c) {
        PendingReply reply = new PendingReply();
        backends.backend(server).send(c, reply);
        return reply;
    }
}
