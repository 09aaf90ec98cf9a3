package dev.magent.core;

import static dev.magent.core.ClusterObserver.mainIndex;
import static dev.magent.core.MemcachedProcess.await;
import static dev.magent.core.ProxyFixture.client;
import static dev.magent.core.ProxyFixture.direct;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.ResyncProgress;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Faults while clients keep the proxy busy (docs/reliability.md, "FaultsUnderLoadIT"): a main killed with
 * SIGKILL and restarted, a main stalled with SIGSTOP, every server down. Each client thread keeps a model
 * of its own keys and checks every reply against it; the tests measure the error rate and the time back
 * to full service and print them as "MEASURED:" lines.
 */
class FaultsUnderLoadIT {
    private static final int THREADS = 8;
    /** Consecutive successful requests (over all threads, by completion time) that count as full service. */
    private static final int FULL_SERVICE_RUN = 200;

    private ProxyFixture cluster;
    private MemcachedProcess a;
    private MemcachedProcess b;
    private MemcachedProcess backup;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        a = cluster.mains.get(0);
        b = cluster.mains.get(1);
        backup = cluster.backups.get(0);
    }

    @AfterEach
    void stop() throws Exception {
        a.resume();
        cluster.close();
    }

    @Test
    void killingAMainUnderLoadLosesNoAcknowledgedWrite() throws Exception {
        MagentProxy proxy = cluster.proxy();
        Load load = new Load(proxy, THREADS, "kl", 150, true, 11);
        load.start();
        load.awaitRequests(5_000, Duration.ofSeconds(20));
        long acknowledged = load.keysWithAcknowledgedValue();
        long killedAt = System.nanoTime();
        a.kill(); // SIGKILL
        load.awaitRequests(load.requests() + 8_000, Duration.ofSeconds(20));
        await("A marked down", Duration.ofSeconds(10),
                () -> ProxyFixture.server(proxy, a).state() == BackendServer.State.DOWN);
        load.stopAndJoin();
        load.assertNoViolations();
        // every write acknowledged before (and after) the kill is readable through the proxy, from the backup
        load.verifyEveryKey();

        Load.Window w = load.window(killedAt, killedAt + Duration.ofSeconds(5).toNanos());
        long recovery = load.fullServiceAfter(killedAt);
        System.out.printf("MEASURED: kill -9 of a main under load (%d connections): error rate %d/%d = %.3f%% "
                        + "in the 5 s after the kill; back to full service (%d consecutive successes) %.1f ms after "
                        + "the kill; slowest request in that window %.1f ms; %d keys acknowledged before the kill, "
                        + "all readable afterwards%n",
                THREADS, w.errors(), w.requests(), 100.0 * w.errorRate(), FULL_SERVICE_RUN, recovery / 1e6,
                w.maxLatencyNanos() / 1e6, acknowledged);
        assertTrue(w.errorRate() < 0.05, "error rate during fail-over " + w.errorRate());
        assertTrue(recovery >= 0 && recovery < Duration.ofSeconds(10).toNanos(), "recovery " + recovery / 1e6 + " ms");

        // the main comes back empty under load: it is resynced, and still nothing acknowledged is lost
        load.start();
        long restartedAt = System.nanoTime();
        a.restart();
        await("A back, resynced, no hints", Duration.ofSeconds(30),
                () -> ClusterObserver.upWithoutHints(proxy, a.address())
                        && proxy.resyncProgress(a.address()).phase() == ResyncProgress.Phase.DONE);
        long upAt = System.nanoTime();
        load.awaitRequests(load.requests() + 5_000, Duration.ofSeconds(20));
        load.stopAndJoin();
        load.assertNoViolations();
        load.verifyEveryKey();
        load.verifyShardsOnMains(cluster.mains);
        Load.Window rw = load.window(restartedAt, upAt);
        System.out.printf("MEASURED: restart of the killed main under load: back in service %.1f ms after its "
                        + "restart (%s); error rate while it rejoined %d/%d = %.3f%%%n",
                (upAt - restartedAt) / 1e6, proxy.resyncProgress(a.address()), rw.errors(), rw.requests(),
                100.0 * rw.errorRate());
        assertTrue(rw.errorRate() < 0.05, "error rate while rejoining " + rw.errorRate());
    }

    @Test
    void aStalledMainUnderLoadTimesOutFailsOverAndComesBack() throws Exception {
        MagentProxy proxy = cluster.proxy();
        Duration timeout = proxy.config().requestTimeout();
        Load load = new Load(proxy, THREADS, "st", 150, true, 12);
        // a separate client on B's keys only, timing every request
        List<String> keysOnB = new ArrayList<>();
        for (int i = 0; keysOnB.size() < 50; i++) {
            if (mainIndex(cluster.mains, "stb" + i) == 1) {
                keysOnB.add("stb" + i);
            }
        }
        try (TextClient c = client(proxy)) {
            for (String k : keysOnB) {
                assertEquals("STORED\r\n", c.set(k, "b-" + k));
            }
        }
        load.start();
        load.awaitRequests(5_000, Duration.ofSeconds(20));
        long heapBefore = ClusterObserver.usedHeapAfterGc();
        long timeoutsBefore = proxy.stats().backendTimeouts();

        a.pause(); // SIGSTOP
        long stalledAt = System.nanoTime();
        long[] maxOnB = {0};
        int onBRequests = 0;
        try (TextClient c = client(proxy)) {
            // bounded: while stalled, keep reading B's keys until the load has done plenty of requests too
            long targetRequests = load.requests() + 10_000;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while ((load.requests() < targetRequests || onBRequests < 500) && System.nanoTime() < deadline) {
                String k = keysOnB.get(onBRequests % keysOnB.size());
                long t = System.nanoTime();
                assertEquals("b-" + k, c.get(k));
                maxOnB[0] = Math.max(maxOnB[0], System.nanoTime() - t);
                onBRequests++;
            }
        }
        assertEquals(BackendServer.State.DOWN, ProxyFixture.server(proxy, a).state());
        long heapStalled = ClusterObserver.usedHeapAfterGc();
        long timeouts = proxy.stats().backendTimeouts() - timeoutsBefore;
        Load.Window w = load.window(stalledAt, System.nanoTime());

        a.resume(); // SIGCONT
        long resumedAt = System.nanoTime();
        await("A up again with no hinted keys", Duration.ofSeconds(20),
                () -> ClusterObserver.upWithoutHints(proxy, a.address()));
        long upAt = System.nanoTime();
        load.awaitRequests(load.requests() + 5_000, Duration.ofSeconds(20));
        load.stopAndJoin();
        load.assertNoViolations();
        load.verifyEveryKey();
        load.verifyShardsOnMains(cluster.mains);
        long heapAfter = ClusterObserver.usedHeapAfterGc();
        long recovery = load.fullServiceAfter(stalledAt);

        System.out.printf("MEASURED: SIGSTOP of a main under load: %d backend timeouts; error rate %d/%d = %.3f%% "
                        + "while stalled; back to full service %.1f ms after the stall; slowest request to the other "
                        + "main %.1f ms over %d requests (timeout %d ms); used heap after GC %d MiB before, %d MiB "
                        + "stalled, %d MiB after; back in service %.1f ms after SIGCONT%n",
                timeouts, w.errors(), w.requests(), 100.0 * w.errorRate(), recovery / 1e6, maxOnB[0] / 1e6,
                onBRequests, timeout.toMillis(), heapBefore >> 20, heapStalled >> 20, heapAfter >> 20,
                (upAt - resumedAt) / 1e6);
        assertTrue(timeouts >= 1, "requests to the stalled main timed out");
        assertTrue(w.errorRate() < 0.05, "error rate while stalled " + w.errorRate());
        assertTrue(maxOnB[0] < timeout.toNanos() + Duration.ofSeconds(1).toNanos(),
                "a request to the healthy main took " + maxOnB[0] / 1e6 + " ms");
        assertTrue(heapStalled - heapBefore < 64L << 20, "heap grew by " + ((heapStalled - heapBefore) >> 20) + " MiB");
        assertTrue(heapAfter - heapBefore < 64L << 20, "heap grew by " + ((heapAfter - heapBefore) >> 20) + " MiB");
    }

    @Test
    void everyServerDownUnderLoadAnswersServerErrorAndServiceResumes() throws Exception {
        MagentProxy proxy = cluster.proxy();
        Duration timeout = proxy.config().requestTimeout();
        Load load = new Load(proxy, 4, "ad", 100, false, 13);
        load.start();
        load.awaitRequests(3_000, Duration.ofSeconds(20));
        a.kill();
        b.kill();
        backup.kill();
        long downAt = System.nanoTime();
        await("every server down", Duration.ofSeconds(10),
                () -> proxy.servers().stream().allMatch(s -> s.state() == BackendServer.State.DOWN));
        long allDownAt = System.nanoTime();
        load.awaitRequests(load.requests() + 3_000, Duration.ofSeconds(20));
        long outageEnd = System.nanoTime();
        // the requests in flight at outageEnd are answered before any server returns: every client thread
        // has one at most, so a hundred more answers cover them
        load.awaitRequests(load.requests() + 100, Duration.ofSeconds(20));
        Load.Window outage = load.window(allDownAt, outageEnd, true);
        a.restart();
        b.restart();
        backup.restart();
        long restartedAt = System.nanoTime();
        await("every server back", Duration.ofSeconds(20),
                () -> proxy.servers().stream().allMatch(s -> s.state() == BackendServer.State.UP));
        long upAt = System.nanoTime();
        load.awaitRequests(load.requests() + 3_000, Duration.ofSeconds(20));
        load.stopAndJoin();
        load.assertNoViolations();
        long resumed = load.fullServiceAfter(restartedAt);
        Load.Window whileDown = load.window(downAt, allDownAt);
        System.out.printf("MEASURED: every server killed under load: %d requests while all were down, %d answered "
                        + "SERVER_ERROR, slowest answer %.1f ms (timeout %d ms), none hung; all three were marked down "
                        + "%.1f ms after the last kill returned; after the restarts all servers were up in %.1f ms and full "
                        + "service (%d consecutive successes) resumed %.1f ms after the restarts, without restarting "
                        + "the proxy%n",
                outage.requests(), outage.errors(), outage.maxLatencyNanos() / 1e6, timeout.toMillis(),
                (allDownAt - downAt) / 1e6, (upAt - restartedAt) / 1e6, FULL_SERVICE_RUN, resumed / 1e6);
        assertTrue(outage.requests() > 0);
        assertEquals(outage.requests(), outage.errors(), "with every server down every request fails");
        assertTrue(load.unexpectedErrors().isEmpty(), "every error is a clear SERVER_ERROR: " + load.unexpectedErrors());
        assertTrue(outage.maxLatencyNanos() < timeout.toNanos(), "down servers are skipped without waiting: "
                + outage.maxLatencyNanos() / 1e6 + " ms");
        assertTrue(whileDown.maxLatencyNanos() < 2 * timeout.toNanos() + Duration.ofSeconds(1).toNanos(),
                "no request hung while the servers went down: " + whileDown.maxLatencyNanos() / 1e6 + " ms");
        assertTrue(resumed >= 0 && resumed < Duration.ofSeconds(10).toNanos(), "resumed after " + resumed / 1e6 + " ms");
    }

    /**
     * Client threads with their own keys, each checking every reply against what it wrote. A write that got
     * an error may or may not have happened, so its key then accepts either value until the next write.
     */
    static final class Load {
        private static final String NO_VALUE = "\u0000none";

        private final MagentProxy proxy;
        private final int threads;
        private final String prefix;
        private final int keysPerThread;
        private final boolean strict;
        private final long seed;
        /** key → the values a read may return (NO_VALUE: a miss). */
        private final Map<String, Set<String>> model = new ConcurrentHashMap<>();
        private final List<Events> events = new CopyOnWriteArrayList<>();
        private final List<String> violations = new CopyOnWriteArrayList<>();
        private final List<String> unexpectedErrors = new CopyOnWriteArrayList<>();
        private final AtomicLong requests = new AtomicLong();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> running = new ArrayList<>();
        private int generation;

        Load(MagentProxy proxy, int threads, String prefix, int keysPerThread, boolean strict, long seed) {
            this.proxy = proxy;
            this.threads = threads;
            this.prefix = prefix;
            this.keysPerThread = keysPerThread;
            this.strict = strict;
            this.seed = seed;
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < keysPerThread; i++) {
                    model.put(key(t, i), new HashSet<>(Set.of(NO_VALUE)));
                }
            }
        }

        private String key(int thread, int i) {
            return prefix + thread + "-" + i;
        }

        void start() {
            stop.set(false);
            generation++;
            for (int t = 0; t < threads; t++) {
                Events ev = new Events();
                events.add(ev);
                int thread = t;
                int gen = generation;
                Thread th = new Thread(() -> run(thread, ev, new Random(seed * 1000 + gen * 100 + thread), gen),
                        prefix + "-load-" + t);
                running.add(th);
                th.start();
            }
        }

        void stopAndJoin() throws InterruptedException {
            stop.set(true);
            for (Thread t : running) {
                t.join(30_000);
                if (t.isAlive()) {
                    throw new AssertionError(t.getName() + " hung");
                }
            }
            running.clear();
        }

        long requests() {
            return requests.get();
        }

        void awaitRequests(long n, Duration max) throws InterruptedException {
            await(n + " requests of load", max, () -> requests.get() >= n || !violations.isEmpty());
        }

        private void run(int thread, Events ev, Random rnd, int gen) {
            long seq = 0;
            TextClient c = null;
            // bounded: a load phase is at most a few hundred thousand requests
            for (int n = 0; n < 500_000 && !stop.get(); n++) {
                try {
                    if (c == null) {
                        c = client(proxy);
                    }
                    int op = rnd.nextInt(100);
                    long t0 = System.nanoTime();
                    boolean ok;
                    if (op < 45) {
                        String k = key(thread, rnd.nextInt(keysPerThread));
                        ok = checkRead(c.call("get " + k + "\r\n"), List.of(k));
                    } else if (op < 80) {
                        String k = key(thread, rnd.nextInt(keysPerThread));
                        String v = "g" + gen + "t" + thread + "-" + (seq++) + "-" + "x".repeat(rnd.nextInt(40));
                        String r = c.call("set " + k + " 0 0 " + v.length() + "\r\n" + v + "\r\n");
                        ok = r.equals("STORED\r\n");
                        if (ok) {
                            model.put(k, new HashSet<>(Set.of(v)));
                        } else {
                            noteError(r, "set " + k);
                            synchronized (model) {
                                model.get(k).add(v);
                            }
                        }
                    } else if (op < 90) {
                        String k = key(thread, rnd.nextInt(keysPerThread));
                        String r = c.call("delete " + k + "\r\n");
                        Set<String> before = model.get(k);
                        ok = r.equals("DELETED\r\n") || r.equals("NOT_FOUND\r\n");
                        if (ok) {
                            if (strict && r.equals("NOT_FOUND\r\n") && !before.contains(NO_VALUE)) {
                                violations.add("delete " + k + " answered NOT_FOUND but it held " + before);
                            }
                            if (strict && r.equals("DELETED\r\n") && before.equals(Set.of(NO_VALUE))) {
                                violations.add("delete " + k + " answered DELETED but it was absent");
                            }
                            model.put(k, new HashSet<>(Set.of(NO_VALUE)));
                        } else {
                            noteError(r, "delete " + k);
                            model.get(k).add(NO_VALUE);
                        }
                    } else {
                        List<String> ks = List.of(key(thread, rnd.nextInt(keysPerThread)),
                                key(thread, rnd.nextInt(keysPerThread)), key(thread, rnd.nextInt(keysPerThread)));
                        ok = checkRead(c.call("get " + String.join(" ", ks) + "\r\n"), ks);
                    }
                    ev.add(t0, System.nanoTime(), ok);
                    requests.incrementAndGet();
                } catch (IOException e) {
                    violations.add("thread " + thread + ": connection failed: " + e);
                    return;
                }
            }
            try {
                if (c != null) {
                    c.close();
                }
            } catch (IOException ignored) {
                // closing a test socket
            }
        }

        private void noteError(String reply, String what) {
            if (!reply.startsWith("SERVER_ERROR no server available for key ")) {
                unexpectedErrors.add(what + ": " + reply.trim());
            }
        }

        /** Checks a get reply against the model; false when it is an error (counted), throws nothing. */
        private boolean checkRead(String reply, List<String> keys) {
            if (!reply.endsWith("END\r\n")) {
                noteError(reply, "get " + keys);
                return false;
            }
            Map<String, String> got = new java.util.HashMap<>();
            int pos = 0;
            List<String> order = new ArrayList<>();
            while (reply.startsWith("VALUE ", pos)) {
                int eol = reply.indexOf("\r\n", pos);
                String[] head = reply.substring(pos, eol).split(" ");
                int len = Integer.parseInt(head[3]);
                String data = reply.substring(eol + 2, eol + 2 + len);
                got.put(head[1], data);
                order.add(head[1]);
                pos = eol + 2 + len + 2;
            }
            if (!strict) {
                return true;
            }
            // hits come back in the client's key order (duplicates included)
            List<String> expectedOrder = keys.stream().filter(got::containsKey).toList();
            if (!order.equals(expectedOrder)) {
                violations.add("get " + keys + " answered in another order: " + order);
            }
            for (String k : keys) {
                Set<String> allowed = model.get(k);
                String v = got.getOrDefault(k, NO_VALUE);
                if (!allowed.contains(v)) {
                    violations.add("get " + k + " gave " + (v.equals(NO_VALUE) ? "a miss" : v) + ", expected one of "
                            + allowed + " (A " + proxy.servers().get(0).state() + ")");
                }
            }
            return true;
        }

        void assertNoViolations() {
            if (!violations.isEmpty()) {
                fail(violations.size() + " wrong answers, e.g.:\n"
                        + String.join("\n", violations.subList(0, Math.min(20, violations.size()))));
            }
        }

        List<String> unexpectedErrors() {
            return unexpectedErrors.subList(0, Math.min(20, unexpectedErrors.size()));
        }

        long keysWithAcknowledgedValue() {
            return model.values().stream().filter(s -> s.size() == 1 && !s.contains(NO_VALUE)).count();
        }

        /** Reads every key through the proxy (load stopped) and compares with the model. */
        void verifyEveryKey() throws IOException {
            List<String> wrong = new ArrayList<>();
            try (TextClient c = client(proxy)) {
                for (Map.Entry<String, Set<String>> e : model.entrySet()) {
                    String v = c.get(e.getKey());
                    if (!e.getValue().contains(v == null ? NO_VALUE : v)) {
                        wrong.add(e.getKey() + "=" + v + " expected " + e.getValue());
                    }
                }
            }
            assertTrue(wrong.isEmpty(), wrong.size() + " keys read wrong: " + wrong.subList(0, Math.min(20, wrong.size())));
        }

        /** Each main holds (directly) what the model says for its keys, where the model is certain. */
        void verifyShardsOnMains(List<MemcachedProcess> mains) throws IOException {
            List<String> wrong = new ArrayList<>();
            for (int m = 0; m < mains.size(); m++) {
                try (TextClient d = direct(mains.get(m))) {
                    for (Map.Entry<String, Set<String>> e : model.entrySet()) {
                        if (mainIndex(mains, e.getKey()) != m || e.getValue().size() != 1) {
                            continue;
                        }
                        String v = d.get(e.getKey());
                        if (!e.getValue().contains(v == null ? NO_VALUE : v)) {
                            wrong.add("main " + m + " " + e.getKey() + "=" + v + " expected " + e.getValue());
                        }
                    }
                }
            }
            assertTrue(wrong.isEmpty(), wrong.size() + " keys wrong on the mains: "
                    + wrong.subList(0, Math.min(20, wrong.size())));
        }

        record Window(long requests, long errors, long maxLatencyNanos) {
            double errorRate() {
                return requests == 0 ? 0 : (double) errors / requests;
            }
        }

        /** Requests that completed in [from, to) (System.nanoTime). */
        Window window(long from, long to) {
            return window(from, to, false);
        }

        /**
         * The requests that ended in [from, to); with {@code sentInside} only those also sent after
         * {@code from}: a reply the proxy wrote before then but the client thread read late does not count.
         */
        Window window(long from, long to, boolean sentInside) {
            long n = 0;
            long errors = 0;
            long max = 0;
            for (Events ev : events) {
                synchronized (ev) {
                    for (int i = 0; i < ev.size; i++) {
                        if (ev.end[i] >= from && ev.end[i] < to && (!sentInside || ev.start[i] >= from)) {
                            n++;
                            if (!ev.ok[i]) {
                                errors++;
                            }
                            max = Math.max(max, ev.end[i] - ev.start[i]);
                        }
                    }
                }
            }
            return new Window(n, errors, max);
        }

        /**
         * Nanoseconds from {@code since} to the moment after which {@link #FULL_SERVICE_RUN} consecutive
         * requests (by completion time, over all threads) succeeded; -1 if that never happened.
         */
        long fullServiceAfter(long since) {
            List<long[]> all = new ArrayList<>();
            for (Events ev : events) {
                synchronized (ev) {
                    for (int i = 0; i < ev.size; i++) {
                        if (ev.end[i] >= since) {
                            all.add(new long[] {ev.end[i], ev.ok[i] ? 1 : 0});
                        }
                    }
                }
            }
            all.sort((x, y) -> Long.compare(x[0], y[0]));
            long runStart = since;
            int run = 0;
            for (long[] e : all) {
                if (e[1] == 1) {
                    run++;
                    if (run >= FULL_SERVICE_RUN) {
                        return runStart - since;
                    }
                } else {
                    run = 0;
                    runStart = e[0];
                }
            }
            return -1;
        }

        /** One thread's request log: start, end, success. */
        private static final class Events {
            private long[] start = new long[4096];
            private long[] end = new long[4096];
            private boolean[] ok = new boolean[4096];
            private int size;

            synchronized void add(long s, long e, boolean success) {
                if (size == end.length) {
                    start = Arrays.copyOf(start, size * 2);
                    end = Arrays.copyOf(end, size * 2);
                    ok = Arrays.copyOf(ok, size * 2);
                }
                start[size] = s;
                end[size] = e;
                ok[size] = success;
                size++;
            }
        }
    }
}
