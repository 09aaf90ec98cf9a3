package dev.magent.core;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A blocking memcached text-protocol client for tests: sends raw requests and reads whole replies as text,
 * so tests can assert the exact bytes a client sees.
 */
public final class TextClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public TextClient(SocketAddress address) throws IOException {
        this(address, Duration.ofSeconds(10));
    }

    /** A client whose reads fail after {@code readTimeout} without a byte. */
    public TextClient(SocketAddress address, Duration readTimeout) throws IOException {
        socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout((int) readTimeout.toMillis());
        socket.setTcpNoDelay(true);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    public TextClient(int port) throws IOException {
        this(new InetSocketAddress("127.0.0.1", port));
    }

    /** Sends bytes as they are. */
    public void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Sends a request and reads one complete reply. */
    public String call(String raw) throws IOException {
        send(raw);
        return readReply();
    }

    public String set(String key, String value) throws IOException {
        return call("set " + key + " 0 0 " + value.getBytes(StandardCharsets.UTF_8).length + "\r\n" + value + "\r\n");
    }

    /** The value of a key, or null on a miss; fails on any other reply. */
    public String get(String key) throws IOException {
        String r = call("get " + key + "\r\n");
        if (r.equals("END\r\n")) {
            return null;
        }
        if (!r.startsWith("VALUE ")) {
            throw new IOException("unexpected reply to get " + key + ": " + r);
        }
        int lineEnd = r.indexOf("\r\n");
        return r.substring(lineEnd + 2, r.length() - "\r\nEND\r\n".length());
    }

    /**
     * Reads one reply: VALUE blocks up to END, STAT lines up to END, or a single line. Returns the exact
     * text including CRLFs.
     */
    public String readReply() throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            String line = readLine();
            sb.append(line);
            if (line.startsWith("VALUE ")) {
                String[] parts = line.trim().split(" ");
                int len = Integer.parseInt(parts[3]);
                byte[] data = in.readNBytes(len + 2);
                sb.append(new String(data, StandardCharsets.UTF_8));
            } else if (line.startsWith("STAT ")) {
                continue;
            } else {
                return sb.toString();
            }
        }
    }

    /** Reads one line including its CRLF; fails if the server closed the connection. */
    public String readLine() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int prev = -1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new java.io.EOFException("connection closed after '" + buf.toString(StandardCharsets.UTF_8) + "'");
            }
            buf.write(b);
            if (prev == '\r' && b == '\n') {
                return buf.toString(StandardCharsets.UTF_8);
            }
            prev = b;
        }
    }

    /** True when the server has closed the connection (reads end of stream within the socket timeout). */
    public boolean isClosedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
