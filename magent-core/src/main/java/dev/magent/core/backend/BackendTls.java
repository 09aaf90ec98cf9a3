package dev.magent.core.backend;

import dev.magent.core.ServerAddress;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * TLS towards the memcached servers (memcached 1.6 started with {@code -Z}). The server's certificate must
 * chain to {@code ca} and name the address magent connects to (its host or IP in the subject alternative
 * names), as an HTTPS client would check it.
 *
 * @param ca               PEM CA certificates to trust; {@code null} for the JDK's default trust store
 * @param certificateChain PEM certificate chain magent presents to servers that ask for one
 *                         ({@code ssl_verify_mode}); {@code null} for none
 * @param privateKey       PEM private key (PKCS#8) of that certificate; given exactly when the chain is
 */
public record BackendTls(Path ca, Path certificateChain, Path privateKey) {
    private static final AtomicInteger SESSIONS = new AtomicInteger();

    public BackendTls {
        if ((certificateChain == null) != (privateKey == null)) {
            throw new IllegalArgumentException("a client certificate for TLS to the servers needs both the"
                    + " certificate chain and its private key");
        }
    }

    /** Builds the client-side context; fails with a message naming the file at fault. */
    public SslContext newClientContext() {
        for (Path p : new Path[] {ca, certificateChain, privateKey}) {
            if (p != null && !Files.isReadable(p)) {
                throw new IllegalArgumentException("cannot read TLS file " + p);
            }
        }
        try {
            SslContextBuilder b = SslContextBuilder.forClient().sessionCacheSize(1); // no resumption: addTo
            if (ca != null) {
                b.trustManager(ca.toFile());
            }
            if (certificateChain != null) {
                b.keyManager(certificateChain.toFile(), privateKey.toFile());
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("bad TLS files for the servers (" + (ca == null ? "" : ca + ", ")
                    + (certificateChain == null ? "" : certificateChain + ", " + privateKey) + "): "
                    + e.getMessage(), e);
        }
    }

    /**
     * Puts TLS first in a new connection's pipeline when {@code context} is not null: every connection to a
     * memcached server (pools, probes, resync) goes through here.
     */
    public static void addTo(Channel ch, SslContext context, ServerAddress server) {
        if (context == null) {
            return;
        }
        // The JDK resumes a cached session for the same host and port. memcached (OpenSSL, no session id
        // context) fails such a resumption with a fatal internal_error when it verifies client certificates
        // (ssl_verify_mode), so each connection gets a peer port of its own, which only names the cache
        // entry: every handshake is a full one. Connections are long-lived, so that costs little.
        int cacheKey = 65_536 + (SESSIONS.incrementAndGet() & 0x3FFF_FFFF);
        SslHandler handler = context.newHandler(ch.alloc(), server.host(), cacheKey);
        SSLEngine engine = handler.engine();
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name this server
        engine.setSSLParameters(parameters);
        ch.pipeline().addFirst("tls", handler);
    }
}
