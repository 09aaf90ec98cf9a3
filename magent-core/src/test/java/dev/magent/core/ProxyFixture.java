package dev.magent.core;

import dev.magent.core.backend.BackendServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** The how-to's topology for tests: real memcached mains and backups, and proxies over them. */
final class ProxyFixture implements AutoCloseable {
    final List<MemcachedProcess> mains = new ArrayList<>();
    final List<MemcachedProcess> backups = new ArrayList<>();
    final List<MagentProxy> proxies = new ArrayList<>();
    private MemcachedProcess reference;

    static ProxyFixture start(int mainCount, int backupCount) throws IOException {
        ProxyFixture f = new ProxyFixture();
        try {
            for (int i = 0; i < mainCount; i++) {
                f.mains.add(MemcachedProcess.start());
            }
            for (int i = 0; i < backupCount; i++) {
                f.backups.add(MemcachedProcess.start());
            }
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
        return f;
    }

    /** A config over this fixture's servers with test-friendly timings; adjust with {@code tweak}. */
    ProxyConfig.Builder config() {
        return ProxyConfig.builder()
                .port(0)
                .mains(mains.stream().map(MemcachedProcess::address).toList())
                .backups(backups.stream().map(MemcachedProcess::address).toList())
                .requestTimeout(Duration.ofMillis(1000)) // generous: CI machines have two busy cores
                .failureThreshold(2)
                .probeInterval(Duration.ofMillis(50))
                .probeMaxInterval(Duration.ofMillis(400))
                .ioThreads(2)
                // -Dmagent.test.transport=epoll (in test.jvm.args, issue 14) runs the ITs on one transport; auto otherwise
                .transport(TransportChoice.parse(System.getProperty("magent.test.transport", "auto")))
                .shutdownGrace(Duration.ofSeconds(2));
    }

    MagentProxy proxy() throws IOException {
        return proxy(UnaryOperator.identity());
    }

    MagentProxy proxy(UnaryOperator<ProxyConfig.Builder> tweak) throws IOException {
        MagentProxy p = MagentProxy.start(tweak.apply(config()).build());
        proxies.add(p);
        return p;
    }

    /**
     * A lone memcached beside the cluster, started on first use and stopped with the fixture: what magent's
     * answers are compared with, byte for byte.
     */
    MemcachedProcess reference() throws IOException {
        if (reference == null) {
            reference = MemcachedProcess.start();
        }
        return reference;
    }

    static int port(MagentProxy p) {
        return ((InetSocketAddress) p.localAddress()).getPort();
    }

    static TextClient client(MagentProxy p) throws IOException {
        return new TextClient(port(p));
    }

    static TextClient direct(MemcachedProcess m) throws IOException {
        return new TextClient(m.port());
    }

    static BackendServer server(MagentProxy p, MemcachedProcess m) {
        return p.servers().stream().filter(s -> s.address().port() == m.port()).findFirst().orElseThrow();
    }

    @Override
    public void close() {
        for (MagentProxy p : proxies) {
            p.shutdown(Duration.ZERO);
        }
        for (MemcachedProcess m : mains) {
            try {
                m.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (MemcachedProcess m : backups) {
            try {
                m.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (reference != null) {
            try {
                reference.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
