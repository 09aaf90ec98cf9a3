package dev.magent.core;

import java.io.IOException;
import java.io.InputStream;

/** Reads text-protocol replies from a raw socket stream, for tests that pipeline deeper than TextClient does. */
public final class ReplyReader {
    private ReplyReader() {
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
