package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS towards clients (TlsSettings): a real handshake with a certificate chain made here, from a test CA,
 * with the JDK's keytool (nothing committed, no extra library); and client certificates required when a
 * client CA is set.
 */
class TlsIT {
    @TempDir
    static Path dir;

    private static TestPki pki;
    private static Path chainPem;
    private static Path keyPem;
    private static Path caPem;
    private static ProxyFixture cluster;

    @BeforeAll
    static void makeCertificates() throws Exception {
        pki = new TestPki(dir);
        chainPem = pki.serverChainPem;
        keyPem = pki.serverKeyPem;
        caPem = pki.caPem;
        cluster = ProxyFixture.start(1, 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A client context trusting the test CA, presenting the client certificate when {@code withCert}. */
    private static SSLContext clientContext(boolean withCert) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.caCert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(pki.clientKeys, TestPki.PASSWORD);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(withCert ? kmf.getKeyManagers() : null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private static SSLSocket connect(SSLContext ctx, MagentProxy proxy) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        s.connect(new InetSocketAddress("127.0.0.1", ProxyFixture.port(proxy)), 5000);
        s.setSoTimeout(10_000);
        var params = s.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS"); // check the name too, as a careful client does
        s.setSSLParameters(params);
        return s;
    }

    /** Sends a request and reads lines until one ends the reply. */
    private static String call(Socket s, BufferedReader in, String request) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(request.getBytes(StandardCharsets.UTF_8));
        out.flush();
        StringBuilder reply = new StringBuilder();
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new java.io.EOFException("closed after '" + reply + "'");
            }
            reply.append(line).append('\n');
            if (line.startsWith("VALUE ")) {
                reply.append(in.readLine()).append('\n'); // the data block
            } else {
                return reply.toString();
            }
        }
    }

    private static BufferedReader reader(Socket s) throws IOException {
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
    }

    @Test
    void handshakeAndRoundTripWithAClientTrustingTheCa() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.tls(new TlsSettings(chainPem, keyPem, null)));
        try (SSLSocket s = connect(clientContext(false), proxy)) {
            s.startHandshake();
            X509Certificate presented = (X509Certificate) s.getSession().getPeerCertificates()[0];
            assertEquals("CN=localhost", presented.getSubjectX500Principal().getName());
            assertEquals(2, s.getSession().getPeerCertificates().length, "the whole chain is sent");
            BufferedReader in = reader(s);
            assertEquals("STORED\n", call(s, in, "set tls1 3 0 6\r\nsecret\r\n"));
            assertEquals("VALUE tls1 3 6\nsecret\nEND\n", call(s, in, "get tls1\r\n"));
        }
        // the copy on the backup went over plain TCP, as memcached is spoken there
        try (TextClient backup = ProxyFixture.direct(cluster.backups.get(0))) {
            MemcachedProcess.await("copy on the backup", java.time.Duration.ofSeconds(5), () -> {
                try {
                    return "secret".equals(backup.get("tls1"));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
        }
    }

    @Test
    void aClientNotTrustingTheCaFailsTheHandshake() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.tls(new TlsSettings(chainPem, keyPem, null)));
        SSLContext defaults = SSLContext.getInstance("TLS");
        defaults.init(null, null, null); // the JDK's own trust store: does not know the test CA
        try (SSLSocket s = connect(defaults, proxy)) {
            assertThrows(SSLHandshakeException.class, s::startHandshake);
        }
    }

    @Test
    void plainTextOnTheTlsPortIsNotServed() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.tls(new TlsSettings(chainPem, keyPem, null)));
        try (TextClient plain = ProxyFixture.client(proxy)) {
            plain.send("version\r\n");
            try {
                String line = plain.readLine();
                assertTrue(!line.startsWith("VERSION"), line);
            } catch (IOException closed) {
                // the TLS handler closes on a record that is not TLS: also a refusal
            }
        }
    }

    @Test
    void withAClientCaOnlyClientsWithACertificateAreServed() throws Exception {
        MagentProxy proxy = cluster.proxy(c -> c.tls(new TlsSettings(chainPem, keyPem, caPem)));
        try (SSLSocket s = connect(clientContext(true), proxy)) {
            BufferedReader in = reader(s);
            assertEquals("STORED\n", call(s, in, "set tls2 0 0 2\r\nok\r\n"));
            assertEquals("VALUE tls2 0 2\nok\nEND\n", call(s, in, "get tls2\r\n"));
        }
        try (SSLSocket s = connect(clientContext(false), proxy)) {
            // TLS 1.3 finishes the client's side of the handshake before the server checks the client's
            // (missing) certificate: the refusal arrives as an alert on the first read
            try {
                String reply = call(s, reader(s), "get tls2\r\n");
                fail("served without a client certificate: " + reply);
            } catch (SSLException | java.net.SocketException | java.io.EOFException refused) {
                // refused
            }
        }
    }

    @Test
    void unreadableFilesAreNamedAtStart() {
        Path missing = dir.resolve("missing.pem");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cluster.proxy(c -> c.tls(new TlsSettings(chainPem, missing, null))));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }
}
