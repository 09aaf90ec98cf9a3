package dev.magent.protocol;

import java.util.Objects;

/**
 * What a decoder emits, in stream order, for input that is not a valid command or reply: the error to
 * answer with and whether the connection must then close (as memcached closes it, e.g. after a command
 * line too long to be a command).
 *
 * <p>Some errors are {@linkplain #silent() silent}: memcached closes the connection without a word (a
 * command line too long, an HTTP request). {@link #reply()} still says what went wrong, for logs and
 * statistics; a server must not write it. (Errors memcached drops because the command asked for
 * {@code noreply} are not emitted at all.)
 *
 * @param reply           the error memcached would send for this input
 * @param closeConnection whether to close the connection after sending it (or after nothing, if silent)
 * @param silent          whether to send nothing for this error (only the close)
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public record ProtocolError(ErrorReply reply, boolean closeConnection, boolean silent) {
    public ProtocolError {
        Objects.requireNonNull(reply, "reply");
    }

    /**
     * An error that is answered (not silent).
     *
     * @param reply           the error to send
     * @param closeConnection whether to close the connection after sending it
     */
    public ProtocolError(ErrorReply reply, boolean closeConnection) {
        this(reply, closeConnection, false);
    }
}
