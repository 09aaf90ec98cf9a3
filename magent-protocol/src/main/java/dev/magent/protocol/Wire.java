package dev.magent.protocol;

import java.nio.charset.StandardCharsets;

/** The fixed bytes of the text protocol, shared by the four codecs. */
final class Wire {
    static final byte CR = '\r';
    static final byte LF = '\n';
    static final byte SP = ' ';
    static final byte[] CRLF = {CR, LF};
    /**
     * Data blocks up to this size are copied into the message's own text buffer by the encoders, so that
     * a small message goes out as one buffer: a copy of a few hundred bytes costs less than the derived
     * buffer, reference counting, outbound entry and iovec of forwarding it (ReplyEncoderBenchmark).
     * Larger blocks are forwarded without a copy.
     */
    static final int INLINE_DATA_MAX = 1024;

    static final byte[] NOREPLY = ascii("noreply");
    static final byte[] SP_NOREPLY = ascii(" noreply");
    static final byte[] ZERO = ascii("0");
    static final byte[] HTTP = ascii("HTTP/");

    static final byte[] VALUE = ascii("VALUE");
    static final byte[] END = ascii("END");
    static final byte[] STAT = ascii("STAT");
    static final byte[] VERSION = ascii("VERSION");
    static final byte[] ERROR = ascii("ERROR");
    static final byte[] CLIENT_ERROR = ascii("CLIENT_ERROR");
    static final byte[] SERVER_ERROR = ascii("SERVER_ERROR");
    static final byte[] END_CRLF = ascii("END\r\n");
    static final byte[] PREFIX = ascii("PREFIX");

    /** The meta reply codes: two letters each (ME: the debug line of {@code me}). */
    static final String[] META_CODES = {"VA", "HD", "EN", "NF", "NS", "EX", "MN", "ME"};

    private Wire() {
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Whether a key is acceptable: 1 to {@code maxLength} bytes, none of them a space, LF or NUL. That is
     * what memcached takes: its tokenizer splits on spaces only, a line ends at LF (a CR just before it is
     * dropped, one inside the line is kept, so a key may hold a CR), and it reads a line as a C string, so
     * a NUL ends it (the {@link LineTokens} do the same). Every other byte, control characters and bytes
     * above 0x7F included, is part of a key; memcaslap's generated keys need that.
     */
    static boolean validKey(byte[] key, int maxLength) {
        if (key.length == 0 || key.length > maxLength) {
            return false;
        }
        for (byte b : key) {
            if (b == SP || b == LF || b == 0) {
                return false;
            }
        }
        return true;
    }

    /** Whether a text field holds no CR or LF, so that it cannot end a line early. */
    static boolean oneLine(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n') {
                return false;
            }
        }
        return true;
    }
}
