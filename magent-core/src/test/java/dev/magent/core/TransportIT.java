package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every transport the kernel allows serves the same protocol on real memcached: client connections over
 * TCP and a unix socket, and backend connections (the writes reach the mains and the backup) all run on
 * the chosen one. A transport this kernel refuses is skipped, not failed.
 */
class TransportIT {
    private static ProxyFixture cluster;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws IOException {
        cluster = ProxyFixture.start(2, 1);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @ParameterizedTest
    @EnumSource(value = TransportChoice.class, names = {"IO_URING", "EPOLL", "NIO"})
    void servesSetsGetsAndMultiGets(TransportChoice choice) throws Exception {
        Transport.Selection expected = available(choice);
        Path socket = dir.resolve(choice.wireName() + ".sock");
        MagentProxy proxy = cluster.proxy(c -> c.transport(choice).unixSocket(socket));
        assertEquals(expected.transport(), proxy.transport());
        String prefix = choice.wireName() + "-";
        StringBuilder multiGet = new StringBuilder("get");
        StringBuilder expectedValues = new StringBuilder();
        try (TextClient c = ProxyFixture.client(proxy)) {
            for (int i = 0; i < 20; i++) {
                assertEquals("STORED\r\n", c.set(prefix + i, "v" + i));
                multiGet.append(' ').append(prefix).append(i);
                expectedValues.append("VALUE ").append(prefix).append(i).append(" 0 ").append(("v" + i).length())
                        .append("\r\nv").append(i).append("\r\n");
            }
            multiGet.append(" ").append(prefix).append("absent\r\n");
            // 20 keys over both mains, gathered into one reply in the client's order
            assertEquals(expectedValues + "END\r\n", c.call(multiGet.toString()));
            assertTrue(c.call("stats\r\n").contains("STAT transport " + choice.wireName() + "\r\n"));
        }
        try (TextClient backup = ProxyFixture.direct(cluster.backups.get(0))) {
            MemcachedProcess.await("the backup's copy", Duration.ofSeconds(5), () -> {
                try {
                    return "v19".equals(backup.get(prefix + 19));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
        }
        try (SocketChannel unix = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            unix.connect(UnixDomainSocketAddress.of(socket));
            assertEquals("STORED\r\nVALUE " + prefix + "u 0 2\r\nok\r\nEND\r\n",
                    call(unix, "set " + prefix + "u 0 0 2\r\nok\r\nget " + prefix + "u\r\n"));
        }
        proxy.shutdown(Duration.ZERO);
    }

    @Test
    void autoTakesTheBestAvailable() throws Exception {
        Transport best = Transport.select(TransportChoice.AUTO, Transport.Availability.NATIVE).transport();
        // auto asked for explicitly: the fixture pins the other ITs to one transport (test.jvm.args)
        MagentProxy proxy = cluster.proxy(c -> c.transport(TransportChoice.AUTO));
        assertEquals(TransportChoice.AUTO, proxy.config().transport());
        assertEquals(best, proxy.transport());
        try (TextClient c = ProxyFixture.client(proxy)) {
            assertEquals("STORED\r\n", c.set("auto", "yes"));
            assertEquals("yes", c.get("auto"));
            assertTrue(c.call("stats\r\n").contains("STAT transport " + best.wireName() + "\r\n"));
        }
        proxy.shutdown(Duration.ZERO);
    }

    /** The transport, or the test skipped with the kernel's reason. */
    private static Transport.Selection available(TransportChoice choice) {
        try {
            return Transport.select(choice, Transport.Availability.NATIVE);
        } catch (IllegalStateException e) {
            assumeTrue(false, e.getMessage());
            throw e;
        }
    }

    /** Sends a request and reads until the reply ends a retrieval. */
    private static String call(SocketChannel channel, String request) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            channel.write(out);
        }
        StringBuilder reply = new StringBuilder();
        ByteBuffer in = ByteBuffer.allocate(4096);
        while (!reply.toString().endsWith("END\r\n")) {
            in.clear();
            if (channel.read(in) < 0) {
                throw new IOException("closed after '" + reply + "'");
            }
            in.flip();
            reply.append(StandardCharsets.UTF_8.decode(in));
        }
        return reply.toString();
    }
}
