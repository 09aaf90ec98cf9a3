package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clients over a unix domain socket (-f): the same protocol and the same proxy as over TCP. */
class UnixSocketIT {
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

    /** A socket in a directory only this user can enter, as docs/operations.md recommends. */
    private Path socketPath() throws IOException {
        Path private_ = Files.createDirectory(dir.resolve("run"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        return private_.resolve("magent.sock");
    }

    @Test
    void roundTripOverTheSocketAlone() throws Exception {
        Path socket = socketPath();
        MagentProxy proxy = cluster.proxy(c -> c.port(-1).unixSocket(socket));
        assertNull(proxy.localAddress(), "TCP is off");
        assertTrue(Files.exists(socket));
        try (UnixClient c = new UnixClient(socket)) {
            assertEquals("STORED\r\n", c.call("set unix1 5 0 5\r\nhello\r\n"));
            assertEquals("VALUE unix1 5 5\r\nhello\r\nEND\r\n", c.call("get unix1\r\n"));
            assertEquals("DELETED\r\n", c.call("delete unix1\r\n"));
            assertEquals("END\r\n", c.call("get unix1\r\n"));
            assertEquals("STORED\r\n", c.call("set unix2 0 0 2\r\nok\r\n"));
        }
        // replicated like any write: the backup has it
        try (TextClient backup = ProxyFixture.direct(cluster.backups.get(0))) {
            MemcachedProcess.await("copy on the backup", Duration.ofSeconds(5), () -> {
                try {
                    return "ok".equals(backup.get("unix2"));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
        }
        proxy.shutdown(Duration.ZERO);
        assertFalse(Files.exists(socket), "the socket file is removed at shutdown");
    }

    @Test
    void tcpAndTheSocketServeTheSameKeys() throws Exception {
        Path socket = socketPath();
        MagentProxy proxy = cluster.proxy(c -> c.unixSocket(socket));
        try (UnixClient overSocket = new UnixClient(socket); TextClient overTcp = ProxyFixture.client(proxy)) {
            assertEquals("STORED\r\n", overTcp.set("both", "tcp"));
            assertEquals("VALUE both 0 3\r\ntcp\r\nEND\r\n", overSocket.call("get both\r\n"));
            assertEquals("STORED\r\n", overSocket.call("set both 0 0 4\r\nunix\r\n"));
            assertEquals("unix", overTcp.get("both"));
            // pipelined over the socket: answered in order
            assertEquals("STORED\r\nVALUE both 0 1\r\n1\r\nEND\r\n",
                    overSocket.call("set both 0 0 1\r\n1\r\nget both\r\n", "END\r\n"));
        }
    }

    @Test
    void aStaleSocketFileFromACrashIsReplaced() throws Exception {
        Path socket = socketPath();
        Files.writeString(socket, "left behind");
        MagentProxy proxy = cluster.proxy(c -> c.port(-1).unixSocket(socket));
        try (UnixClient c = new UnixClient(socket)) {
            assertEquals("VERSION 1.6.0-magent-" + MagentProxy.version() + "\r\n", c.call("version\r\n"));
        }
        proxy.shutdown(Duration.ZERO);
    }

    /** A blocking client over Java 17's unix domain socket channels. */
    private static final class UnixClient implements AutoCloseable {
        private final SocketChannel channel;

        UnixClient(Path socket) throws IOException {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
        }

        /** Sends a request and reads until the reply ends in a line that ends a reply. */
        String call(String request) throws IOException {
            return call(request, null);
        }

        String call(String request, String until) throws IOException {
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                channel.write(out);
            }
            StringBuilder reply = new StringBuilder();
            ByteBuffer in = ByteBuffer.allocate(4096);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!complete(reply.toString(), until)) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("no complete reply: " + reply);
                }
                in.clear();
                if (channel.read(in) < 0) {
                    throw new IOException("closed after '" + reply + "'");
                }
                in.flip();
                reply.append(StandardCharsets.UTF_8.decode(in));
            }
            return reply.toString();
        }

        private static boolean complete(String reply, String until) {
            if (until != null) {
                return reply.endsWith(until);
            }
            if (!reply.endsWith("\r\n")) {
                return false;
            }
            return !reply.startsWith("VALUE ") || reply.endsWith("END\r\n");
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
