package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.BackendTls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS to the memcached servers (BackendTls) against memcached itself serving TLS ({@code -Z}, Debian's
 * build has it): pooled requests, probes and the resync's metadump all go through the handshake.
 */
class BackendTlsIT {
    @TempDir
    static Path dir;

    private static TestPki pki;
    private static TestPki otherPki;

    private final List<MemcachedProcess> servers = new ArrayList<>();
    private final List<MagentProxy> proxies = new ArrayList<>();

    @BeforeAll
    static void makeCertificates() throws Exception {
        pki = new TestPki(Files.createDirectory(dir.resolve("pki")));
        otherPki = new TestPki(Files.createDirectory(dir.resolve("other")));
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (MagentProxy p : proxies) {
            p.shutdown(Duration.ZERO);
        }
        for (MemcachedProcess m : servers) {
            m.close();
        }
    }

    /** memcached serving TLS only, with the test PKI's server certificate; {@code requireClientCert} as asked. */
    private MemcachedProcess tlsMemcached(boolean requireClientCert) throws IOException {
        String options = "ssl_chain_cert=" + pki.serverChainPem + ",ssl_key=" + pki.serverKeyPem
                + (requireClientCert ? ",ssl_ca_cert=" + pki.caPem + ",ssl_verify_mode=2" : "");
        MemcachedProcess m = MemcachedProcess.start("-Z", "-o", options);
        servers.add(m);
        return m;
    }

    private MagentProxy proxy(List<MemcachedProcess> mains, List<MemcachedProcess> backups, BackendTls tls)
            throws IOException {
        MagentProxy p = MagentProxy.start(ProxyConfig.builder()
                .port(0)
                .mains(mains.stream().map(MemcachedProcess::address).toList())
                .backups(backups.stream().map(MemcachedProcess::address).toList())
                .requestTimeout(Duration.ofMillis(2000)) // a handshake on a busy CI machine
                .failureThreshold(2)
                .probeInterval(Duration.ofMillis(50))
                .probeMaxInterval(Duration.ofMillis(400))
                .ioThreads(2)
                .backendTls(tls)
                .build());
        proxies.add(p);
        return p;
    }

    private static TextClient client(MagentProxy p) throws IOException {
        return new TextClient(p.localAddress());
    }

    @Test
    void requestsGoOverTlsToMainAndBackup() throws Exception {
        MemcachedProcess main = tlsMemcached(false);
        MemcachedProcess backup = tlsMemcached(false);
        MagentProxy p = proxy(List.of(main), List.of(backup), new BackendTls(pki.caPem, null, null));
        try (TextClient c = client(p)) {
            for (int i = 0; i < 20; i++) {
                assertEquals("STORED\r\n", c.set("tls" + i, "value" + i));
            }
            for (int i = 0; i < 20; i++) {
                assertEquals("value" + i, c.get("tls" + i));
            }
        }
        for (BackendServer s : p.servers()) {
            assertEquals(BackendServer.State.UP, s.state(), s.toString());
            assertEquals(0, s.failures(), s.toString());
            assertTrue(s.requests() >= 20, s + " requests " + s.requests());
        }
        // the backup holds the copies: a proxy over it alone reads them, over TLS as well
        MagentProxy overBackup = proxy(List.of(backup), List.of(), new BackendTls(pki.caPem, null, null));
        try (TextClient c = client(overBackup)) {
            assertEquals("value7", c.get("tls7"));
        }
    }

    @Test
    void plainTcpToATlsServerFails() throws Exception {
        MemcachedProcess main = tlsMemcached(false);
        MagentProxy p = proxy(List.of(main), List.of(), null);
        try (TextClient c = client(p)) {
            String reply = c.call("get k\r\n");
            assertTrue(reply.startsWith("SERVER_ERROR no server available for key k"), reply);
        }
    }

    @Test
    void aServerCertificateFromAnotherCaIsRefused() throws Exception {
        MemcachedProcess main = tlsMemcached(false);
        MagentProxy p = proxy(List.of(main), List.of(), new BackendTls(otherPki.caPem, null, null));
        try (TextClient c = client(p)) {
            String reply = c.call("set k 0 0 1\r\nx\r\n");
            assertTrue(reply.startsWith("SERVER_ERROR no server available for key k"), reply);
        }
        assertEquals(BackendServer.State.DOWN, p.servers().get(0).state(), "the failed handshakes take it out");
    }

    @Test
    void aClientCertificateWhenTheServerRequiresOne() throws Exception {
        MemcachedProcess main = tlsMemcached(true);
        MagentProxy without = proxy(List.of(main), List.of(), new BackendTls(pki.caPem, null, null));
        try (TextClient c = client(without)) {
            String reply = c.call("get k\r\n");
            assertTrue(reply.startsWith("SERVER_ERROR"), "memcached refuses a client without a certificate: " + reply);
        }
        MagentProxy with = proxy(List.of(main), List.of(),
                new BackendTls(pki.caPem, pki.clientChainPem, pki.clientKeyPem));
        try (TextClient c = client(with)) {
            assertEquals("STORED\r\n", c.set("mtls", "yes"));
            assertEquals("yes", c.get("mtls"));
        }
    }

    @Test
    void aRestartedMainIsProbedAndResyncedOverTls() throws Exception {
        MemcachedProcess main = tlsMemcached(false);
        MemcachedProcess backup = tlsMemcached(false);
        MagentProxy p = proxy(List.of(main), List.of(backup), new BackendTls(pki.caPem, null, null));
        int keys = 50;
        try (TextClient c = client(p)) {
            for (int i = 0; i < keys; i++) {
                assertEquals("STORED\r\n", c.set("resync" + i, "v" + i));
            }
        }
        main.restart(); // empty, same port, TLS again
        BackendServer server = p.servers().get(0);
        try (TextClient c = client(p)) {
            int[] i = {0};
            // clients keep reading: the reconnect shows a new memcached (pid, start time) and starts the resync
            MemcachedProcess.await("the main resynced from the backup", Duration.ofSeconds(30), () -> {
                try {
                    assertEquals("v" + (i[0] % keys), c.get("resync" + (i[0] % keys)), "served during the resync");
                    i[0]++;
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                return server.state() == BackendServer.State.UP && server.resyncProgress().runs() > 0
                        && server.resyncProgress().copied() + server.resyncProgress().skipped() == keys;
            });
        }
        MagentProxy overMain = proxy(List.of(main), List.of(), new BackendTls(pki.caPem, null, null));
        try (TextClient c = client(overMain)) {
            assertEquals("v42", c.get("resync42"), "copied back into the restarted main");
        }
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("missing.pem");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new BackendTls(missing, null, null).newClientContext());
        assertEquals("cannot read TLS file " + missing, e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new BackendTls(null, pki.clientChainPem, null));
    }
}
