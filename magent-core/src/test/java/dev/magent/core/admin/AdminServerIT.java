package dev.magent.core.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.magent.core.MagentProxy;
import dev.magent.core.MemcachedProcess;
import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.core.TextClient;
import dev.magent.core.backend.BackendServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin endpoint over HTTP against a proxy over real memcached servers. */
class AdminServerIT {
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper json = new ObjectMapper();

    private final List<MemcachedProcess> servers = new ArrayList<>();
    private final List<MagentProxy> proxies = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (MagentProxy p : proxies) {
            p.shutdown(Duration.ZERO);
        }
        for (MemcachedProcess m : servers) {
            m.close();
        }
    }

    private MemcachedProcess memcached() throws IOException {
        MemcachedProcess m = MemcachedProcess.start();
        servers.add(m);
        return m;
    }

    private MagentProxy proxy(List<MemcachedProcess> mains, List<MemcachedProcess> backups) throws IOException {
        // ServerAddress refuses port 0, so the admin endpoint gets a port that was free a moment ago
        return proxy(config(mains, backups).admin(new ServerAddress("127.0.0.1", MemcachedProcess.freePort())));
    }

    private MagentProxy proxy(ProxyConfig.Builder config) throws IOException {
        MagentProxy p = MagentProxy.start(config.build());
        proxies.add(p);
        return p;
    }

    private static ProxyConfig.Builder config(List<MemcachedProcess> mains, List<MemcachedProcess> backups) {
        return ProxyConfig.builder()
                .port(0)
                .mains(mains.stream().map(MemcachedProcess::address).toList())
                .backups(backups.stream().map(MemcachedProcess::address).toList())
                .requestTimeout(Duration.ofMillis(1000))
                .failureThreshold(2)
                .probeInterval(Duration.ofMillis(50))
                .probeMaxInterval(Duration.ofMillis(400))
                .ioThreads(2)
                .shutdownGrace(Duration.ofSeconds(1));
    }

    private static URI uri(MagentProxy p, String path) {
        InetSocketAddress a = (InetSocketAddress) p.adminAddress();
        return URI.create("http://127.0.0.1:" + a.getPort() + path);
    }

    private static HttpResponse<String> get(MagentProxy p, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(p, path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static TextClient client(MagentProxy p) throws IOException {
        return new TextClient(p.localAddress());
    }

    /** Sends gets of many keys until the proxy has marked this server down (every main gets some). */
    private static void driveDown(MagentProxy p, MemcachedProcess m) throws Exception {
        BackendServer server = p.servers().stream().filter(s -> s.address().equals(m.address())).findFirst()
                .orElseThrow();
        try (TextClient c = client(p)) {
            int[] i = {0};
            MemcachedProcess.await(server + " marked down", Duration.ofSeconds(10), () -> {
                try {
                    c.call("get drive" + i[0]++ + "\r\n");
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                return server.state() == BackendServer.State.DOWN;
            });
        }
    }

    @Test
    void offUnlessConfigured() throws Exception {
        MagentProxy p = proxy(config(List.of(memcached()), List.of()));
        assertNull(p.adminAddress());
    }

    @Test
    void healthFollowsWhetherEveryKeyHasACopyInService() throws Exception {
        MemcachedProcess a = memcached();
        MemcachedProcess b = memcached();
        MemcachedProcess backup = memcached();
        MagentProxy p = proxy(List.of(a, b), List.of(backup));

        HttpResponse<String> r = get(p, "/health");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode body = json.readTree(r.body());
        assertTrue(body.get("healthy").asBoolean());
        assertEquals("every server is up", body.get("reason").asText());
        assertEquals(0, body.get("not_in_service").size());

        // a main down, the backup up: its keys are served by the backup
        a.kill();
        driveDown(p, a);
        r = get(p, "/health");
        assertEquals(200, r.statusCode(), r.body());
        body = json.readTree(r.body());
        assertEquals("main " + a.address() + " down: its keys are served by the backups", body.get("reason").asText());

        // and the backup too: a's keys have no copy
        backup.kill();
        try (TextClient c = client(p)) {
            MemcachedProcess.await("backup marked down", Duration.ofSeconds(10), () -> {
                try {
                    c.call("set k 0 0 1\r\nx\r\n");
                    return get(p, "/health").statusCode() == 503;
                } catch (IOException | InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
        }
        body = json.readTree(get(p, "/health").body());
        assertTrue(!body.get("healthy").asBoolean());
        assertTrue(body.get("reason").asText().endsWith(": some keys have no copy in service"), body.toString());
        assertEquals(2, body.get("not_in_service").size(), body.toString());

        // the backup comes back (empty): once it is up to date, a's keys have a copy again
        backup.restart();
        BackendServer backupServer = p.servers().stream().filter(x -> x.address().equals(backup.address()))
                .findFirst().orElseThrow();
        MemcachedProcess.await("healthy again", Duration.ofSeconds(20), () -> {
            try {
                return backupServer.state() == BackendServer.State.UP && get(p, "/health").statusCode() == 200;
            } catch (IOException | InterruptedException e) {
                throw new AssertionError(e);
            }
        });
    }

    @Test
    void withoutBackupsADownMainIsUnhealthy() throws Exception {
        MemcachedProcess a = memcached();
        MemcachedProcess b = memcached();
        MagentProxy p = proxy(List.of(a, b), List.of());
        assertEquals(200, get(p, "/health").statusCode());
        b.kill();
        driveDown(p, b);
        HttpResponse<String> r = get(p, "/health");
        assertEquals(503, r.statusCode());
        assertEquals("main " + b.address() + " down and there are no backups: its keys have no copy in service",
                json.readTree(r.body()).get("reason").asText());
    }

    @Test
    void statsHasEveryServerAndTheProxyCounters() throws Exception {
        MemcachedProcess a = memcached();
        MemcachedProcess backup = memcached();
        MagentProxy p = proxy(List.of(a), List.of(backup));
        try (TextClient c = client(p)) {
            for (int i = 0; i < 20; i++) {
                assertEquals("STORED\r\n", c.set("s" + i, "v" + i));
                assertEquals("v" + i, c.get("s" + i));
            }
            assertEquals("END\r\n", c.call("get missing\r\n"));
        }
        HttpResponse<String> r = get(p, "/stats");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode s = json.readTree(r.body());
        assertEquals(MagentProxy.version(), s.get("version").asText());
        assertEquals(ProcessHandle.current().pid(), s.get("pid").asLong());
        assertTrue(s.get("health").get("healthy").asBoolean());
        assertEquals("modulo", s.get("hashing").asText());
        assertTrue(s.get("read_repair").asBoolean());
        assertEquals(20, s.get("commands").get("set").asLong());
        assertEquals(21, s.get("commands").get("get").asLong());
        assertEquals(20, s.get("get_hits").asLong());
        assertEquals(1, s.get("get_misses").asLong());
        for (String counter : List.of("failovers", "read_repairs", "backup_write_errors", "backend_timeouts",
                "backend_errors", "unavailable_errors", "protocol_errors")) {
            assertEquals(0, s.get(counter).asLong(), counter);
        }
        JsonNode conns = s.get("connections");
        assertEquals(1, conns.get("total").asLong());
        assertEquals(ProxyConfig.DEFAULT_MAX_CONNECTIONS, conns.get("max").asInt());

        JsonNode servers = s.get("servers");
        assertEquals(2, servers.size());
        JsonNode main = servers.get(0);
        assertEquals(a.address().toString(), main.get("address").asText());
        assertEquals("main", main.get("role").asText());
        assertEquals(0, main.get("index").asInt());
        assertEquals(1, main.get("weight").asInt());
        assertEquals("up", main.get("state").asText());
        assertEquals(0, main.get("hinted_keys").asInt());
        assertTrue(!main.get("hints_overflowed").asBoolean());
        assertNotNull(java.time.Instant.parse(main.get("since").asText()));
        assertTrue(main.get("requests").asLong() >= 41, main.toString());
        assertEquals(0, main.get("failures").asLong());
        JsonNode latency = main.get("latency_micros");
        assertTrue(latency.get("count").asLong() >= 41, latency.toString());
        long p50 = latency.get("p50").asLong();
        assertTrue(p50 > 0 && p50 <= latency.get("p90").asLong() && latency.get("p90").asLong() <= latency.get("p99").asLong()
                && latency.get("p99").asLong() <= latency.get("p999").asLong(), latency.toString());
        assertTrue(latency.get("mean").asDouble() > 0);
        JsonNode resync = main.get("resync");
        assertEquals("idle", resync.get("phase").asText());
        for (String f : List.of("runs", "scanned", "matched", "copied", "skipped", "failed", "hints_resolved")) {
            assertEquals(0, resync.get(f).asLong(), f);
        }
        assertTrue(resync.get("started").isNull());
        assertEquals("backup", servers.get(1).get("role").asText());
        assertTrue(servers.get(1).get("requests").asLong() >= 20);
    }

    @Test
    void hintedKeysShowWhileABackupIsDown() throws Exception {
        MemcachedProcess a = memcached();
        MemcachedProcess backup = memcached();
        MagentProxy p = proxy(List.of(a), List.of(backup));
        BackendServer backupServer = p.servers().get(1);
        backup.kill();
        try (TextClient c = client(p)) {
            int[] i = {0};
            MemcachedProcess.await("backup marked down", Duration.ofSeconds(10), () -> {
                try {
                    assertEquals("STORED\r\n", c.set("drive" + i[0]++, "v"));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                return backupServer.state() == BackendServer.State.DOWN;
            });
            for (int k = 0; k < 7; k++) {
                assertEquals("STORED\r\n", c.set("missed" + k, "v"));
            }
        }
        // every key written since the backup failed is hinted: the 7 written while it was down, at least
        int hinted = backupServer.hintedKeys();
        assertTrue(hinted >= 7, "hinted " + hinted);
        JsonNode servers = json.readTree(get(p, "/stats").body()).get("servers");
        assertEquals(0, servers.get(0).get("hinted_keys").asInt());
        assertEquals(hinted, servers.get(1).get("hinted_keys").asInt());
        assertTrue(!servers.get(1).get("hints_overflowed").asBoolean());
        Exposition m = Exposition.parse(get(p, "/metrics").body());
        assertEquals(hinted, m.value("magent_server_hinted_keys", "server", backup.address().toString()));
        assertEquals(0, m.value("magent_server_hinted_keys", "server", a.address().toString()));
    }

    @Test
    void metricsParseBackAsPrometheusText() throws Exception {
        MemcachedProcess a = memcached();
        MemcachedProcess b = memcached();
        MemcachedProcess backup = memcached();
        MagentProxy p = proxy(List.of(a, b), List.of(backup));
        try (TextClient c = client(p)) {
            for (int i = 0; i < 10; i++) {
                assertEquals("STORED\r\n", c.set("m" + i, "v"));
            }
            c.call("get m1 m2 m3\r\n");
            c.call("bogus\r\n");
        }
        HttpResponse<String> r = get(p, "/metrics");
        assertEquals(200, r.statusCode());
        assertEquals(PrometheusText.CONTENT_TYPE, r.headers().firstValue("content-type").orElseThrow());
        Exposition m = Exposition.parse(r.body());

        assertEquals(10, m.value("magent_commands_total", "verb", "set"));
        assertEquals(1, m.value("magent_commands_total", "verb", "get"));
        assertEquals(3, m.value("magent_get_hits_total"));
        assertEquals(1, m.value("magent_healthy"));
        assertEquals(1, m.value("magent_info", "version", MagentProxy.version()));
        for (String counter : List.of("magent_failovers_total", "magent_read_repairs_total",
                "magent_backend_timeouts_total", "magent_unavailable_errors_total")) {
            assertEquals(0, m.value(counter), counter);
        }
        assertEquals("counter", m.types.get("magent_server_requests_total"));
        assertEquals("summary", m.types.get("magent_server_latency_seconds"));
        double requests = 0;
        for (MemcachedProcess s : List.of(a, b, backup)) {
            String server = s.address().toString();
            String role = s == backup ? "backup" : "main";
            assertEquals(1, m.value("magent_server_up", "server", server, "role", role));
            assertEquals(1, m.value("magent_server_state", "server", server, "state", "up"));
            assertEquals(0, m.value("magent_server_state", "server", server, "state", "down"));
            requests += m.value("magent_server_requests_total", "server", server);
            assertEquals(1, m.value("magent_server_weight", "server", server));
            assertEquals(0, m.value("magent_server_hinted_keys", "server", server));
            assertEquals(0, m.value("magent_server_hints_overflowed", "server", server));
            double count = m.value("magent_server_latency_seconds_count", "server", server);
            double p50 = m.value("magent_server_latency_seconds", "server", server, "quantile", "0.5");
            double p999 = m.value("magent_server_latency_seconds", "server", server, "quantile", "0.999");
            assertTrue(count == 0 || (p50 > 0 && p50 < 1 && p50 <= p999), server + " p50 " + p50 + " p999 " + p999);
            assertTrue(m.value("magent_server_latency_seconds_sum", "server", server) >= 0);
        }
        assertTrue(requests >= 20, "requests " + requests);
        assertEquals(10, m.value("magent_server_requests_total", "server", backup.address().toString()),
                "every set is copied to the backup");
        // every family has help
        Set<String> families = new HashSet<>(m.types.keySet());
        assertEquals(families, m.help.keySet());
        assertTrue(families.size() >= 20, families.toString());
    }

    @Test
    void unknownPathsAre404AndOtherMethods405() throws Exception {
        MagentProxy p = proxy(List.of(memcached()), List.of());
        assertEquals(404, get(p, "/").statusCode());
        assertEquals(404, get(p, "/healthz").statusCode());
        assertEquals(200, get(p, "/health?verbose=1").statusCode());
        for (String path : List.of("/health", "/stats", "/metrics")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(p, path))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, r.statusCode(), path);
            assertEquals("GET", r.headers().firstValue("allow").orElseThrow());
            r = http.send(HttpRequest.newBuilder(uri(p, path)).method("DELETE", HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, r.statusCode(), path);
        }
    }

    @Test
    void keepsTheConnectionAliveAndClosesWhenAsked() throws Exception {
        MagentProxy p = proxy(List.of(memcached()), List.of());
        int port = ((InetSocketAddress) p.adminAddress()).getPort();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000); // generous: CI machines have two busy cores
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            // three requests pipelined on one connection, the last asking to close
            out.write(("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertTrue(readResponse(in).startsWith("HTTP/1.1 200 "));
            assertTrue(readResponse(in).startsWith("HTTP/1.1 404 "));
            String last = readResponse(in);
            assertTrue(last.startsWith("HTTP/1.1 200 "), last);
            assertTrue(last.contains("# TYPE magent_server_up gauge"));
            assertEquals(-1, in.read(), "closed after Connection: close");
        }
    }

    /** One response: head and a Content-Length body. */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed in the head: " + head);
            }
            head.write(b);
        }
        String h = head.toString(StandardCharsets.US_ASCII);
        int length = 0;
        for (String line : h.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return h + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    @Test
    void anAdminPortInUseFailsTheStartNamingIt() throws Exception {
        MemcachedProcess a = memcached();
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ServerAddress admin = new ServerAddress("127.0.0.1", taken.getLocalPort());
            IOException e = assertThrows(IOException.class,
                    () -> proxy(config(List.of(a), List.of()).admin(admin)));
            assertTrue(e.getMessage().contains(admin.toString()), e.getMessage());
        }
    }
}
