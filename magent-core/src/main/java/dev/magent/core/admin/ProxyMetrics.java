package dev.magent.core.admin;

import static dev.magent.core.admin.PrometheusText.Type.COUNTER;
import static dev.magent.core.admin.PrometheusText.Type.GAUGE;
import static dev.magent.core.admin.PrometheusText.Type.SUMMARY;

import dev.magent.core.LatencyHistogram;
import dev.magent.core.MagentProxy;
import dev.magent.core.ProxyStats;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.recovery.ResyncProgress;
import dev.magent.core.recovery.VerifyProgress;
import dev.magent.protocol.Verb;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * What {@code GET /metrics} answers: the counters of {@code /stats} as Prometheus metrics, all named
 * {@code magent_…}. Per-server series carry {@code server="host:port"} and {@code role="main|backup"} and {@code pool="0|1|..."}.
 * docs/operations.md lists them.
 */
final class ProxyMetrics {
    private static final double[] QUANTILES = {0.5, 0.9, 0.99, 0.999};
    private static final String[] QUANTILE_LABELS = {"0.5", "0.9", "0.99", "0.999"};

    private ProxyMetrics() {
    }

    /** The exposition text for the proxy's counters now. */
    static String render(MagentProxy proxy) {
        ProxyStats stats = proxy.stats();
        List<BackendServer> servers = proxy.servers();
        PrometheusText t = new PrometheusText();

        t.family("magent_info", GAUGE, "Always 1; the labels describe this proxy.")
                .sample("magent_info", 1, "version", MagentProxy.version(),
                        "hashing", proxy.config().ketama() ? "ketama" : "modulo",
                        "transport", proxy.transport().wireName());
        t.family("magent_start_time_seconds", GAUGE, "When the proxy started, in seconds since the epoch.")
                .sample("magent_start_time_seconds", stats.startedMillis() / 1000.0);
        t.family("magent_healthy", GAUGE, "1 when every key has a copy on a server in service (/health answers 200).")
                .sample("magent_healthy", HealthCheck.of(servers).healthy() ? 1 : 0);

        t.family("magent_client_connections", GAUGE, "Client connections open now.")
                .sample("magent_client_connections", stats.currentConnections());
        t.family("magent_client_connections_max", GAUGE, "The client connection limit (-n).")
                .sample("magent_client_connections_max", proxy.config().maxConnections());
        t.family("magent_client_connections_opened_total", COUNTER, "Client connections accepted.")
                .sample("magent_client_connections_opened_total", stats.totalConnections());
        t.family("magent_client_connections_rejected_total", COUNTER,
                        "Client connections refused because the limit was reached.")
                .sample("magent_client_connections_rejected_total", stats.rejectedConnections());

        t.family("magent_commands_total", COUNTER, "Client commands received, by verb.");
        for (Verb v : Verb.values()) {
            if (v != Verb.ADMIN) { // magent's own commands; mg counts clients' meta gets, not read-repair's
                t.sample("magent_commands_total", stats.commands(v), "verb", v.wireName());
            }
        }
        counter(t, "magent_get_hits_total", "Keys found by get, gets, gat and gats.", stats.getHits());
        counter(t, "magent_get_misses_total", "Keys not found by get, gets, gat and gats.", stats.getMisses());
        counter(t, "magent_failovers_total",
                "Requests answered by a backup because the main was down or its request failed.", stats.failovers());
        counter(t, "magent_read_repairs_total", "Mains refilled from a backup after a miss.", stats.readRepairs());
        counter(t, "magent_backup_write_errors_total", "Writes the main took and a backup did not.",
                stats.backupWriteErrors());
        counter(t, "magent_backend_timeouts_total", "Backend requests that timed out, all servers together.",
                stats.backendTimeouts());
        counter(t, "magent_backend_errors_total",
                "Backend requests that failed otherwise (connection refused or lost, bad reply).",
                stats.backendErrors());
        counter(t, "magent_unavailable_errors_total",
                "Requests answered SERVER_ERROR because no copy of a key was reachable.", stats.unavailableErrors());
        counter(t, "magent_clients_over_buffer_limit_total",
                "Clients disconnected for having more than the client buffer limit waiting in the proxy.",
                stats.clientsOverBufferLimit());
        counter(t, "magent_protocol_errors_total", "Malformed client requests.", stats.protocolErrors());

        t.family("magent_server_up", GAUGE, "1 when the server serves reads and writes, 0 when down or syncing.");
        for (BackendServer s : servers) {
            t.sample("magent_server_up", s.state() == BackendServer.State.UP ? 1 : 0, labels(s));
        }
        t.family("magent_server_state", GAUGE, "1 for the state the server is in, 0 for the others.");
        for (BackendServer s : servers) {
            for (BackendServer.State state : BackendServer.State.values()) {
                t.sample("magent_server_state", s.state() == state ? 1 : 0,
                        labels(s, "state", state.name().toLowerCase()));
            }
        }
        t.family("magent_server_state_since_seconds", GAUGE,
                "When the server entered its current state, in seconds since the epoch.");
        for (BackendServer s : servers) {
            t.sample("magent_server_state_since_seconds", s.stateSinceMillis() / 1000.0, labels(s));
        }
        perServer(t, servers, "magent_server_open_connections", GAUGE,
                "Connections open to the server over all event loops.", BackendServer::openConnections);
        perServer(t, servers, "magent_server_requests_total", COUNTER, "Requests sent to the server.",
                BackendServer::requests);
        perServer(t, servers, "magent_server_failures_total", COUNTER,
                "Timeouts, connection errors and bad replies from the server.", BackendServer::failures);

        t.family("magent_server_latency_seconds", SUMMARY,
                "Reply latency since the start; quantiles are bucket upper bounds, within about 19%.");
        for (BackendServer s : servers) {
            LatencyHistogram h = s.latency();
            long count = h.count();
            for (int i = 0; i < QUANTILES.length; i++) {
                t.sample("magent_server_latency_seconds", h.percentileMicros(QUANTILES[i]) / 1e6,
                        labels(s, "quantile", QUANTILE_LABELS[i]));
            }
            t.sample("magent_server_latency_seconds_sum", h.meanMicros() * count / 1e6, labels(s));
            t.sample("magent_server_latency_seconds_count", count, labels(s));
        }

        t.family("magent_server_suspected", GAUGE,
                "1 for each other proxy that recorded the server missed its writes (this proxy does not read it).");
        for (BackendServer s : servers) {
            for (String by : s.suspicion().by()) {
                t.sample("magent_server_suspected", 1, labels(s, "by", by));
            }
        }
        perServer(t, servers, "magent_server_suspicion_view_stale", GAUGE,
                "1 when the records of who suspects the server could not be read lately (it is not read meanwhile).",
                s -> s.suspicion().viewStale() ? 1 : 0);
        perServer(t, servers, "magent_server_weight", GAUGE, "The server's ketama weight in its ring.",
                BackendServer::weight);
        perServer(t, servers, "magent_server_hinted_keys", GAUGE,
                "Keys whose copy on the server is known stale, waiting to be rewritten.", BackendServer::hintedKeys);
        perServer(t, servers, "magent_server_hints_overflowed", GAUGE,
                "1 when the server missed more writes than its hint log holds (full resync on return).",
                s -> s.hintsOverflowed() ? 1 : 0);
        perServer(t, servers, "magent_server_resync_runs_total", COUNTER,
                "Catch-ups (resync or hint replay) started for the server.", s -> s.resyncProgress().runs());
        perServer(t, servers, "magent_server_hints_resolved_total", COUNTER,
                "Hinted keys rewritten on the server from the other copy.", s -> s.resyncProgress().hintsResolved());
        t.family("magent_server_resync_keys", GAUGE, "Keys of the current or last resync of the server, by outcome.");
        for (BackendServer s : servers) {
            ResyncProgress p = s.resyncProgress();
            t.sample("magent_server_resync_keys", p.scanned(), labels(s, "outcome", "scanned"));
            t.sample("magent_server_resync_keys", p.matched(), labels(s, "outcome", "matched"));
            t.sample("magent_server_resync_keys", p.copied(), labels(s, "outcome", "copied"));
            t.sample("magent_server_resync_keys", p.skipped(), labels(s, "outcome", "skipped"));
            t.sample("magent_server_resync_keys", p.failedCopies(), labels(s, "outcome", "failed"));
            t.sample("magent_server_resync_keys", p.cancelled(), labels(s, "outcome", "cancelled"));
        }
        t.family("magent_server_resync_phase", GAUGE, "1 for the phase the server's catch-up is in, 0 for the others.");
        for (BackendServer s : servers) {
            ResyncProgress.Phase current = s.resyncProgress().phase();
            for (ResyncProgress.Phase phase : ResyncProgress.Phase.values()) {
                t.sample("magent_server_resync_phase", phase == current ? 1 : 0,
                        labels(s, "phase", phase.name().toLowerCase()));
            }
        }
        t.family("magent_server_verify_keys", GAUGE, "Keys of the current or last verify of the server, by outcome;"
                + " differences are counted per copy.");
        for (BackendServer s : servers) {
            VerifyProgress p = s.verifyProgress();
            t.sample("magent_server_verify_keys", p.listed(), labels(s, "outcome", "listed"));
            t.sample("magent_server_verify_keys", p.checked(), labels(s, "outcome", "checked"));
            t.sample("magent_server_verify_keys", p.missing(), labels(s, "outcome", "missing"));
            t.sample("magent_server_verify_keys", p.extra(), labels(s, "outcome", "extra"));
            t.sample("magent_server_verify_keys", p.valueDiffers(), labels(s, "outcome", "value_differs"));
            t.sample("magent_server_verify_keys", p.flagsDiffer(), labels(s, "outcome", "flags_differ"));
            t.sample("magent_server_verify_keys", p.repaired(), labels(s, "outcome", "repaired"));
            t.sample("magent_server_verify_keys", p.raced(), labels(s, "outcome", "raced"));
            t.sample("magent_server_verify_keys", p.skipped(), labels(s, "outcome", "skipped"));
            t.sample("magent_server_verify_keys", p.failed(), labels(s, "outcome", "failed"));
            t.sample("magent_server_verify_keys", p.rechecked(), labels(s, "outcome", "rechecked"));
        }
        perServer(t, servers, "magent_server_verify_runs_total", COUNTER, "Verify runs started for the server.",
                s -> s.verifyProgress().runs());
        perServer(t, servers, "magent_server_verify_running", GAUGE, "1 while a verify of the server runs.",
                s -> s.verifyProgress().phase() == VerifyProgress.Phase.RUNNING ? 1 : 0);
        perServer(t, servers, "magent_server_verify_last_finished_seconds", GAUGE,
                "Unix time the last verify of the server ended, 0 for never.",
                s -> s.verifyProgress().finishedMillis() / 1000);
        t.family("magent_server_verify_duration_seconds", GAUGE,
                "How long the current (so far) or last verify of the server took.");
        for (BackendServer s : servers) {
            t.sample("magent_server_verify_duration_seconds", s.verifyProgress().durationMillis() / 1e3, labels(s));
        }
        return t.toString();
    }

    private static void counter(PrometheusText t, String name, String help, long value) {
        t.family(name, COUNTER, help).sample(name, value);
    }

    private static void perServer(PrometheusText t, List<BackendServer> servers, String name,
                                  PrometheusText.Type type, String help, ToLongFunction<BackendServer> value) {
        t.family(name, type, help);
        for (BackendServer s : servers) {
            t.sample(name, value.applyAsLong(s), labels(s));
        }
    }

    private static String[] labels(BackendServer s, String... more) {
        String[] l = new String[6 + more.length];
        l[0] = "server";
        l[1] = s.address().toString();
        l[2] = "role";
        l[3] = s.role().label();
        l[4] = "pool"; // 0 the mains, 1.. the backup pools in order: which copy of a key the server holds
        l[5] = Integer.toString(s.pool());
        System.arraycopy(more, 0, l, 6, more.length);
        return l;
    }
}
