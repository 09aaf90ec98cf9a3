package dev.magent.protocol;

import java.util.Objects;

/**
 * {@code ERROR}, {@code CLIENT_ERROR <message>} or {@code SERVER_ERROR <message>}.
 *
 * @param kind    which of the three
 * @param message the text after the keyword; empty for {@link Kind#ERROR}
 */
public record ErrorReply(Kind kind, String message) implements Reply {
    /** memcached's answer to an unknown command. */
    public static final ErrorReply UNKNOWN_COMMAND = new ErrorReply(Kind.ERROR, "");
    /** A malformed command line. */
    public static final ErrorReply BAD_COMMAND_LINE = client("bad command line format");
    /** A data block not followed by CRLF. */
    public static final ErrorReply BAD_DATA_CHUNK = client("bad data chunk");
    /** A declared value length above the limit. */
    public static final ErrorReply OBJECT_TOO_LARGE = server("object too large for cache");

    /** The three error keywords. */
    public enum Kind {
        /** {@code ERROR}: a nonexistent command name. */
        ERROR,
        /** {@code CLIENT_ERROR}: the input did not conform to the protocol. */
        CLIENT_ERROR,
        /** {@code SERVER_ERROR}: the server could not carry out a valid request. */
        SERVER_ERROR
    }

    public ErrorReply {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(message, "message");
        if (message.indexOf('\r') >= 0 || message.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("an error message is one line");
        }
    }

    /** {@code CLIENT_ERROR <message>}. */
    public static ErrorReply client(String message) {
        return new ErrorReply(Kind.CLIENT_ERROR, message);
    }

    /** {@code SERVER_ERROR <message>}. */
    public static ErrorReply server(String message) {
        return new ErrorReply(Kind.SERVER_ERROR, message);
    }
}
