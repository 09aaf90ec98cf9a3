package dev.magent.core;

import java.io.ByteArrayInputStream;
import java.io.IOException;
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

/**
 * A throwaway PKI for TLS tests, made with the JDK's keytool (nothing committed, no extra library): a CA, a
 * server certificate for 127.0.0.1 and localhost, and a client certificate, each with its PEM files as an
 * operator would hand them to magent or memcached (the chain, then a PKCS#8 key).
 */
final class TestPki {
    static final char[] PASSWORD = "test-only".toCharArray();

    final Path caPem;
    final X509Certificate caCert;
    /** The server certificate then the CA. */
    final Path serverChainPem;
    final Path serverKeyPem;
    /** The client certificate then the CA. */
    final Path clientChainPem;
    final Path clientKeyPem;
    /** The client's key and chain, for JDK clients. */
    final KeyStore clientKeys;

    private final Path dir;

    /** Makes the files in {@code dir}, which must exist and be empty of them. */
    TestPki(Path dir) throws Exception {
        this.dir = dir;
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

        caCert = (X509Certificate) load("ca.p12").getCertificate("ca");
        String caText = pem("CERTIFICATE", caCert.getEncoded());
        caPem = Files.writeString(dir.resolve("ca.pem"), caText);
        serverChainPem = Files.writeString(dir.resolve("server-chain.pem"),
                Files.readString(dir.resolve("server.crt")) + caText);
        serverKeyPem = Files.writeString(dir.resolve("server-key.pem"),
                pem("PRIVATE KEY", load("server.p12").getKey("server", PASSWORD).getEncoded()));
        clientChainPem = Files.writeString(dir.resolve("client-chain.pem"),
                Files.readString(dir.resolve("client.crt")) + caText);
        Key clientKey = load("client.p12").getKey("client", PASSWORD);
        clientKeyPem = Files.writeString(dir.resolve("client-key.pem"), pem("PRIVATE KEY", clientKey.getEncoded()));

        Certificate clientCert = CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("client.crt"))));
        clientKeys = KeyStore.getInstance("PKCS12");
        clientKeys.load(null, null);
        clientKeys.setKeyEntry("client", clientKey, PASSWORD, new Certificate[] {clientCert, caCert});
    }

    private void keytool(String... args) throws IOException, InterruptedException {
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

    private KeyStore load(String file) throws Exception {
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
}
