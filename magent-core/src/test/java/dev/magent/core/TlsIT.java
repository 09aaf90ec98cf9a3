package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
    private static final char[] PASSWORD = "test-only".toCharArray();

    @TempDir
    static Path dir;

    private static ProxyFixture cluster;
    private static Path chainPem;
    private static Path keyPem;
    private static Path caPem;
    private static X509Certificate caCert;
    private static KeyStore clientKeys;

    @BeforeAll
    static void makeCertificates() throws Exception {
        keytool("-genkeypair", "-alias", "ca", "-keystore", "ca.p12", "-dname", "CN=magent test CA",
                "-ext", "bc:c", "-validity", "2");
        keytool("-genkeypair", "-alias", "server", "-keystore", "server.p12", "-dname", "CN=localhost", "-validity", "2");
        keytool("-genkeypair", "-alias", "client", "-keystore", "client.p12", "-dname", "CN=magent test client",
                "-validity", "2");
        keytool("-certreq", "-alias", "server", "-keystore", "server.p12", "-file", "server.csr");
        keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile", "server.csr", "-outfile", "server.crt",
                "-rfc", "-validity", "2", "-ext", "san=ip:127.0.0.1,dns:localhost", "-ext", "eku=serverAuth");
        keytool("-certreq", "-alias", "client", "-keystore", "client.p12", "-file", "client.csr");
        keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile", "client.csr", "-outfile", "client.crt",
                "-rfc", "-validity", "2", "-ext", "eku=clientAuth");

        KeyStore ca = load("ca.p12");
        caCert = (X509Certificate) ca.getCertificate("ca");
        caPem = Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", caCert.getEncoded()));
        // what an operator gives magent: the chain (server certificate, then the CA) and a PKCS#8 key
        chainPem = Files.writeString(dir.resolve("chain.pem"),
                Files.readString(dir.resolve("server.crt")) + pem("CERTIFICATE", caCert.getEncoded()));
        keyPem = Files.writeString(dir.resolve("key.pem"),
                pem("PRIVATE KEY", load("server.p12").getKey("server", PASSWORD).getEncoded()));

        // the client's key with its CA-signed certificate
        Key clientKey = load("client.p12").getKey("client", PASSWORD);
        Certificate clientCert = CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("client.crt"))));
        clientKeys = KeyStore.getInstance("PKCS12");
        clientKeys.load(null, null);
        clientKeys.setKeyEntry("client", clientKey, PASSWORD, new Certificate[] {clientCert, caCert});

        cluster = ProxyFixture.start(1, 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        if (args[0].equals("-genkeypair")) {
            cmd.addAll(List.of("-keyalg", "EC", "-groupname", "secp256r1"));
        }
        cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", new String(PASSWORD)));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool failed: " + cmd + "\n" + output);
        }
    }

    private static KeyStore load(String file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(dir.resolve(file))) {
            ks.load(in, PASSWORD);
        }
        return ks;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** A client context trusting the test CA, presenting the client certificate when {@code withCert}. */
    private static SSLContext clientContext(boolean withCert) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", caCert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(clientKeys, PASSWORD);
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
