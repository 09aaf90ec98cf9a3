package dev.magent.protocol;

import java.util.Objects;

/**
 * A reply passed on as text: the one-line answers of memcached's administrative commands that carry a word
 * of their own ({@code RESET}, {@code BUSY currently processing reassign request}, {@code NOSPARE ...},
 * {@code MEMLIMIT_TOO_SMALL ...}, {@code Error TLS not enabled}), and the {@code PREFIX} lines of
 * {@code stats detail dump} with their {@code END}.
 *
 * @param text one or more lines, each ending in CRLF, written as ISO-8859-1 bytes
 */
public record TextReply(String text) implements Reply {
    /** {@code stats reset}'s answer. */
    public static final TextReply RESET = new TextReply("RESET\r\n");

    public TextReply {
        Objects.requireNonNull(text, "text");
        if (!text.endsWith("\r\n")) {
            throw new IllegalArgumentException("a text reply ends in CRLF");
        }
    }

    /** One line, given without its CRLF. */
    public static TextReply line(String line) {
        return new TextReply(line + "\r\n");
    }
}
