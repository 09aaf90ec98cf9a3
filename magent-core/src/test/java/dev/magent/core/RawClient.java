package dev.magent.core;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;

/**
 * A test client that sends and reads bytes as ISO-8859-1 text (one char per byte, so every key byte
 * survives, unlike {@link TextClient}'s UTF-8), reading lines until the caller recognises the last one.
 */
final class RawClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawClient(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** Sends {@code raw}, then reads lines (each with its LF) until one satisfies {@code last}. */
    String call(String raw, Predicate<String> last) throws IOException {
        send(raw);
        StringBuilder sb = new StringBuilder();
        while (true) {
            String line = readLine();
            sb.append(line);
            if (last.test(line)) {
                return sb.toString();
            }
        }
    }

    /** Sends one command and reads its one-line answer, or its STAT/VALUE/PREFIX lines up to END. */
    String call(String raw) throws IOException {
        send(raw);
        StringBuilder sb = new StringBuilder();
        while (true) {
            String line = readLine();
            sb.append(line);
            if (!line.startsWith("STAT ") && !line.startsWith("PREFIX ") && !line.startsWith("ITEM ")) {
                return sb.toString();
            }
        }
    }

    /** One line up to and including its LF; fails if the server closes the connection first. */
    String readLine() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new java.io.EOFException("connection closed after '" + buf.toString(StandardCharsets.ISO_8859_1) + "'");
            }
            buf.write(b);
            if (b == '\n') {
                return buf.toString(StandardCharsets.ISO_8859_1);
            }
        }
    }

    /** Exactly {@code n} bytes (a data block and its CRLF), as text. */
    String read(int n) throws IOException {
        return new String(in.readNBytes(n), StandardCharsets.ISO_8859_1);
    }

    /** True when the server sends nothing more within {@code millis} (for noreply checks). */
    boolean quietFor(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            return in.read() < 0;
        } catch (java.net.SocketTimeoutException quiet) {
            return true;
        } finally {
            socket.setSoTimeout(10_000);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
