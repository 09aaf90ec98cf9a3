package dev.magent.cli;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A memcached text-protocol client over a unix socket, for tests: every call fails with an IOException
 * instead of waiting past its deadline (a cut link must not hang a test). After a failed call the
 * connection's replies are out of step: close it and connect again.
 */
final class UnixTextClient implements AutoCloseable {
    /** A reply that is neither data nor the expected status: SERVER_ERROR, CLIENT_ERROR, ERROR. */
    static final class ErrorReply extends IOException {
        ErrorReply(String line) {
            super(line);
        }
    }

    private final SocketChannel channel;
    private final Selector selector;
    private final long timeoutNanos;
    private ByteBuffer in = ByteBuffer.allocate(16 * 1024).flip(); // read mode: position..limit unread

    private UnixTextClient(SocketChannel channel, Selector selector, Duration timeout) {
        this.channel = channel;
        this.selector = selector;
        this.timeoutNanos = timeout.toNanos();
    }

    static UnixTextClient connect(Path socket, Duration timeout) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket)); // local: answers or fails at once
            ch.configureBlocking(false);
            Selector sel = Selector.open();
            ch.register(sel, SelectionKey.OP_READ);
            return new UnixTextClient(ch, sel, timeout);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    /** Sends a request and returns its one-line reply (without CRLF). */
    String call(String request) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        send(request, deadline);
        return readLine(deadline);
    }

    /** STORED, NOT_STORED, ...; an error line throws {@link ErrorReply}. */
    String set(String key, String value) throws IOException {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        return checked(call("set " + key + " 0 0 " + v.length + "\r\n" + value + "\r\n"));
    }

    /** DELETED or NOT_FOUND. */
    String delete(String key) throws IOException {
        return checked(call("delete " + key + "\r\n"));
    }

    /** The new value, or NOT_FOUND. */
    String incr(String key, long delta) throws IOException {
        return checked(call("incr " + key + " " + delta + "\r\n"));
    }

    /** The value, or null on a miss. */
    String get(String key) throws IOException {
        return getMulti(List.of(key)).get(key);
    }

    /** The keys that hit, with their values, in reply order. */
    Map<String, String> getMulti(List<String> keys) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        send("get " + String.join(" ", keys) + "\r\n", deadline);
        Map<String, String> hits = new LinkedHashMap<>();
        while (true) {
            String line = readLine(deadline);
            if (line.equals("END")) {
                return hits;
            }
            if (!line.startsWith("VALUE ")) {
                throw new ErrorReply(line);
            }
            String[] parts = line.split(" ");
            int length = Integer.parseInt(parts[3]);
            byte[] data = readBytes(length + 2, deadline);
            hits.put(parts[1], new String(data, 0, length, StandardCharsets.UTF_8));
        }
    }

    /** The STAT lines of {@code stats}, without "STAT ". */
    List<String> stats() throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        send("stats\r\n", deadline);
        List<String> lines = new ArrayList<>();
        for (String line = readLine(deadline); !line.equals("END"); line = readLine(deadline)) {
            if (!line.startsWith("STAT ")) {
                throw new ErrorReply(line);
            }
            lines.add(line.substring(5));
        }
        return lines;
    }

    private static String checked(String line) throws ErrorReply {
        if (line.startsWith("SERVER_ERROR") || line.startsWith("CLIENT_ERROR") || line.equals("ERROR")) {
            throw new ErrorReply(line);
        }
        return line;
    }

    private void send(String request, long deadline) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                // the proxy is not reading (stopped): wait for room, but not past the deadline
                awaitDeadline(deadline);
                LockSupport.parkNanos(1_000_000);
            }
        }
    }

    private String readLine(long deadline) throws IOException {
        while (true) {
            for (int i = in.position(); i + 1 < in.limit(); i++) {
                if (in.get(i) == '\r' && in.get(i + 1) == '\n') {
                    byte[] line = new byte[i - in.position()];
                    in.get(line);
                    in.position(in.position() + 2);
                    return new String(line, StandardCharsets.UTF_8);
                }
            }
            fill(deadline);
        }
    }

    private byte[] readBytes(int n, long deadline) throws IOException {
        while (in.remaining() < n) {
            fill(deadline);
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    /** Reads more bytes into the buffer, waiting until the deadline. */
    private void fill(long deadline) throws IOException {
        in.compact();
        try {
            if (!in.hasRemaining()) {
                in = ByteBuffer.allocate(in.capacity() * 2).put(in.flip());
            }
            while (true) {
                int n = channel.read(in);
                if (n < 0) {
                    throw new EOFException("the proxy closed the connection");
                }
                if (n > 0) {
                    return;
                }
                selector.select(Math.max(1, awaitDeadline(deadline)));
                selector.selectedKeys().clear();
            }
        } finally {
            in.flip();
        }
    }

    /** Milliseconds left; throws once the deadline has passed. */
    private long awaitDeadline(long deadline) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new IOException("no reply within " + Duration.ofNanos(timeoutNanos).toMillis() + " ms");
        }
        return Math.max(1, left / 1_000_000);
    }

    @Override
    public void close() throws IOException {
        try {
            selector.close();
        } finally {
            channel.close();
        }
    }
}
