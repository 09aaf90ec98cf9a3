package dev.magent.core.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.magent.core.LatencyHistogram;
import dev.magent.core.MagentProxy;
import dev.magent.core.ProxyConfig;
import dev.magent.core.ProxyStats;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.ResyncProgress;
import dev.magent.core.recovery.VerifyProgress;
import dev.magent.protocol.Verb;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code GET /stats} answers: the proxy's counters (those of the memcached {@code stats} command) and,
 * per server, its state, counters, latency percentiles and catch-up progress. Serialized by Jackson with
 * snake_case names; times are ISO-8601 UTC, latencies microseconds.
 *
 * @param version         the proxy's version
 * @param pid             the proxy's process id
 * @param started         when the proxy started
 * @param uptimeSeconds   seconds since then
 * @param health          the {@code /health} verdict
 * @param hashing         {@code modulo} or {@code ketama}
 * @param readRepair      whether read-repair is on
 * @param connections     client connections
 * @param commands        commands received, by verb
 * @param getHits         keys found by retrievals
 * @param getMisses       keys not found
 * @param failovers       requests answered by a backup because the main was down or failed
 * @param readRepairs     mains refilled from a backup after a miss
 * @param backupWriteErrors writes the main took and a backup did not
 * @param backendTimeouts backend requests that timed out, all servers together
 * @param backendErrors   other backend failures (connection refused or lost, bad reply)
 * @param unavailableErrors requests answered {@code SERVER_ERROR} because no copy was reachable
 * @param protocolErrors  malformed client requests
 * @param servers         mains then backups, in configuration order
 */
record StatsSnapshot(String version, long pid, String started, long uptimeSeconds, HealthCheck health, String hashing,
                     boolean readRepair, Connections connections, Map<String, Long> commands, long getHits,
                     long getMisses, long failovers, long readRepairs, long backupWriteErrors, long backendTimeouts,
                     long backendErrors, long unavailableErrors, long protocolErrors, List<Server> servers) {

    private static final JsonMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /** Client connections: open now, opened since start, refused over the limit, the limit. */
    record Connections(int current, long total, long rejected, int max) {
    }

    /**
     * One backend server.
     *
     * @param address         {@code host:port}
     * @param role            {@code main} or {@code backup}
     * @param index           position among the servers of its role, from 0
     * @param weight          its ketama weight
     * @param state           {@code up}, {@code down} or {@code syncing}
     * @param since           when it entered that state
     * @param openConnections connections to it over all event loops
     * @param requests        requests sent to it
     * @param failures        timeouts, connection errors and bad replies
     * @param latencyMicros   reply latency
     * @param hintedKeys      keys whose copy here is known stale, waiting to be rewritten
     * @param hintsOverflowed whether it missed more writes than the hint log holds (full resync on return)
     * @param resync          its catch-up after an outage
     * @param verify          its current or last {@code magent verify} run
     * @param suspectedBy     the other proxies that recorded it missed their writes (not read here meanwhile)
     * @param suspicionViewStale whether those records could not be read lately (not read here meanwhile)
     */
    record Server(String address, String role, int pool, int index, int weight, String state, String since,
                  int openConnections, long requests, long failures, Latency latencyMicros, int hintedKeys,
                  boolean hintsOverflowed, Resync resync, Verify verify, List<String> suspectedBy,
                  boolean suspicionViewStale) {
    }

    /**
     * Reply latency in microseconds since the start: percentiles are the upper bounds of logarithmic
     * buckets (within about 19%).
     */
    record Latency(long count, double mean, long p50, long p90, long p99, long p999) {
        static Latency of(LatencyHistogram h) {
            return new Latency(h.count(), Math.round(h.meanMicros() * 10) / 10.0, h.percentileMicros(0.5),
                    h.percentileMicros(0.9), h.percentileMicros(0.99), h.percentileMicros(0.999));
        }
    }

    /**
     * A server's catch-up: the counts are those of the current or last run, {@code runs} and
     * {@code hintsResolved} count over the proxy's lifetime.
     */
    record Resync(String phase, int runs, long scanned, long matched, long copied, long skipped, long failed,
                  long hintsResolved, String started, String finished) {
        static Resync of(ResyncProgress p) {
            return new Resync(p.phase().name().toLowerCase(), p.runs(), p.scanned(), p.matched(), p.copied(),
                    p.skipped(), p.failedCopies(), p.hintsResolved(), time(p.startedMillis()),
                    time(p.finishedMillis()));
        }
    }

    /**
     * A server's anti-entropy run (docs/semantics.md, "Anti-entropy"): the counts are those of the current
     * or last run, differences counted per copy; {@code runs} counts over the proxy's lifetime.
     */
    record Verify(String phase, int runs, long listed, long checked, long missing, long extra, long valueDiffers,
                  long flagsDiffer, long repaired, long raced, long skipped, long failed, long rechecked,
                  String started, String finished, long durationMillis) {
        static Verify of(VerifyProgress p) {
            return new Verify(p.phase().name().toLowerCase(), p.runs(), p.listed(), p.checked(), p.missing(),
                    p.extra(), p.valueDiffers(), p.flagsDiffer(), p.repaired(), p.raced(), p.skipped(), p.failed(),
                    p.rechecked(), time(p.startedMillis()), time(p.finishedMillis()), p.durationMillis());
        }
    }

    /** Reads the proxy's counters now. */
    static StatsSnapshot of(MagentProxy proxy) {
        ProxyStats stats = proxy.stats();
        ProxyConfig config = proxy.config();
        List<BackendServer> all = proxy.servers();
        Map<String, Long> commands = new LinkedHashMap<>();
        for (Verb v : Verb.values()) {
            if (v != Verb.ADMIN) { // magent's own commands; mg counts clients' meta gets, not read-repair's
                commands.put(v.wireName(), stats.commands(v));
            }
        }
        List<Server> servers = new ArrayList<>(all.size());
        for (BackendServer s : all) {
            servers.add(new Server(s.address().toString(), s.role().label(), s.pool(), s.indexInRole(), s.weight(),
                    s.state().name().toLowerCase(), time(s.stateSinceMillis()), s.openConnections(), s.requests(),
                    s.failures(), Latency.of(s.latency()), s.hintedKeys(), s.hintsOverflowed(),
                    Resync.of(s.resyncProgress()), Verify.of(s.verifyProgress()), s.suspicion().by(),
                    s.suspicion().viewStale()));
        }
        return new StatsSnapshot(MagentProxy.version(), ProcessHandle.current().pid(), time(stats.startedMillis()),
                (System.currentTimeMillis() - stats.startedMillis()) / 1000,
                HealthCheck.of(all),
                config.ketama() ? "ketama" : "modulo", config.readRepair(),
                new Connections(stats.currentConnections(), stats.totalConnections(), stats.rejectedConnections(),
                        config.maxConnections()),
                commands, stats.getHits(), stats.getMisses(), stats.failovers(), stats.readRepairs(),
                stats.backupWriteErrors(), stats.backendTimeouts(), stats.backendErrors(), stats.unavailableErrors(),
                stats.protocolErrors(), servers);
    }

    /** A JSON document (indented: people read it with curl). */
    byte[] toJson() {
        return json(this);
    }

    /** Any of the records here as JSON. */
    static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            // records of strings and numbers always serialize; anything else is a bug here
            throw new IllegalStateException("cannot write stats as JSON", e);
        }
    }

    /** ISO-8601 UTC, or null for "never" (0). */
    private static String time(long epochMillis) {
        return epochMillis == 0 ? null : Instant.ofEpochMilli(epochMillis).toString();
    }
}
