package dev.magent.core;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * TLS for client connections.
 *
 * @param certificateChain PEM certificate chain the proxy presents
 * @param privateKey       PEM private key (PKCS#8) for it
 * @param clientCa         PEM CA certificates that client certificates must chain to; {@code null} to not
 *                         ask clients for certificates
 */
public record TlsSettings(Path certificateChain, Path privateKey, Path clientCa) {
    public TlsSettings {
        Objects.requireNonNull(certificateChain, "certificateChain");
        Objects.requireNonNull(privateKey, "privateKey");
    }

    /** Builds the server-side context; fails with a message naming the file at fault. */
    public SslContext newServerContext() {
        for (Path p : clientCa == null ? new Path[] {certificateChain, privateKey}
                : new Path[] {certificateChain, privateKey, clientCa}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("cannot read TLS file " + p);
            }
        }
        try {
            SslContextBuilder b = SslContextBuilder.forServer(certificateChain.toFile(), privateKey.toFile());
            if (clientCa != null) {
                b.trustManager(clientCa.toFile()).clientAuth(ClientAuth.REQUIRE);
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("bad TLS certificate or key (" + certificateChain + ", " + privateKey
                    + "): " + e.getMessage(), e);
        }
    }
}
