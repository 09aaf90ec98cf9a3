package dev.magent.protocol;

import java.util.Objects;

/**
 * What a decoder emits, in stream order, for input that is not a valid command or reply: the error to
 * answer with and whether the connection must then close (as memcached closes it, e.g. after a command
 * line too long to be a command).
 *
 * @param reply           the error memcached would send for this input
 * @param closeConnection whether to close the connection after sending it
 */
public record ProtocolError(ErrorReply reply, boolean closeConnection) {
    public ProtocolError {
        Objects.requireNonNull(reply, "reply");
    }
}
