package dev.magent.core;

import java.io.IOException;
import java.io.InputStream;

/**
 * Raw pipelining for tests that go deeper than TextClient does: requests written from a thread of their own
 * (a pipeline deeper than the socket buffers would block a writer that also reads), replies read back.
 */
public final class ReplyReader {
    private ReplyReader() {
    }

    /** Writes every request from a daemon thread; a write that fails ends it (the reader sees why). */
    public static void sendInBackground(java.net.Socket socket, byte[] requests) {
        Thread t = new Thread(() -> {
            try {
                java.io.OutputStream out = socket.getOutputStream();
                out.write(requests);
                out.flush();
            } catch (IOException e) {
                // the reader sees the connection end and fails with the count it got
            }
        }, "pipeline-writer");
        t.setDaemon(true);
        t.start();
    }

    /** One line without its CRLF; fails if the connection ends first. */
    public static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        throw new IOException("connection closed after: " + sb);
    }

    /** One single-key retrieval reply: the value, null on a miss, or "!" and the unexpected line. */
    public static String retrieval(InputStream in) throws IOException {
        String first = line(in);
        if (first.equals("END")) {
            return null;
        }
        if (!first.startsWith("VALUE ")) {
            return "!" + first;
        }
        String value = line(in);
        String end = line(in);
        return end.equals("END") ? value : "!" + end;
    }
}
