package dev.magent.protocol;

import static dev.magent.protocol.Wire.CR;
import static dev.magent.protocol.Wire.LF;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.Objects;

/**
 * Server side: request bytes to {@link Command}s, and {@link ProtocolError}s for bad input, in stream
 * order. It answers bad input the way memcached 1.6 does (same error text, same resynchronisation, same
 * silence for {@code noreply} commands, same closed connection for an overlong line); where it differs, and
 * why, is listed in {@code docs/protocol.md}.
 *
 * <ul>
 *   <li>Lines end with {@code \r\n} or a bare {@code \n}, as memcached accepts both.</li>
 *   <li>A storage command's data block becomes a retained slice of the received bytes: never copied, and
 *       never allocated up front from the declared length. Release the {@link StorageCommand}.</li>
 *   <li>For a {@link ProtocolError} a server writes its reply unless it is {@linkplain ProtocolError#silent()
 *       silent}, then closes the connection if it says so; after such a closing error all further input is
 *       discarded.</li>
 * </ul>
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class CommandDecoder extends ByteToMessageDecoder {
    /** Where the decoder is in the request stream. */
    enum State {
        /** Waiting for a whole command line. */
        READ_LINE,
        /** A storage command line was read: waiting for its {@code <bytes>} of data and CRLF. */
        READ_DATA,
        /** Swallowing the data block of a value too large to store, as memcached does. */
        SKIP_DATA,
        /** After an error that closes the connection: everything else is ignored. */
        DISCARD
    }

    /** memcached closes the connection, without a word, when a line outgrows its limit. */
    private static final ProtocolError LINE_TOO_LONG =
            new ProtocolError(ErrorReply.client("line too long"), true, true);
    private static final ProtocolError BAD_DATA_CHUNK = new ProtocolError(ErrorReply.BAD_DATA_CHUNK, false);
    private static final byte[][] RETRIEVAL_PREFIXES = {
        Wire.ascii("get "), Wire.ascii("gets "), Wire.ascii("gat "), Wire.ascii("gats "),
    };

    private final ProtocolLimits limits;
    private final LineTokens tokens = new LineTokens();
    private final TextCommandParser parser;
    private State state = State.READ_LINE;
    /** Bytes of a refused value still to swallow (SKIP_DATA). */
    private long skipRemaining;
    private final LineReader lines = new LineReader();

    /** A decoder with memcached's limits. */
    public CommandDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    /**
     * A decoder with the given limits.
     *
     * @param limits key, line and value limits; lines of get, gets, gat and gats may be as long as
     *               {@link ProtocolLimits#maxRetrievalLineLength()}
     */
    public CommandDecoder(ProtocolLimits limits) {
        this(limits, null);
    }

    /**
     * A decoder that also reads the proxy's own administrative commands, {@code <adminPrefix> <word>*}, into
     * {@link AdminCommand}s (not part of memcached's protocol).
     *
     * @param limits      key, line and value limits, as in {@link #CommandDecoder(ProtocolLimits)}
     * @param adminPrefix the first word of an administrative command, e.g. {@code "magent"}; one word of
     *                    printable ASCII that is not a memcached command; null to decode none
     * @throws IllegalArgumentException if the prefix is not such a word
     */
    public CommandDecoder(ProtocolLimits limits, String adminPrefix) {
        this.limits = Objects.requireNonNull(limits, "limits");
        this.parser = new TextCommandParser(limits, adminPrefix, tokens);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean progress;
        do {
            progress = switch (state) {
                case READ_LINE -> readLine(in, out);
                case READ_DATA -> readData(in, out);
                case SKIP_DATA -> skipData(in);
                case DISCARD -> discard(in);
            };
        } while (progress);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        // nothing retained: a data block is sliced only once complete
        parser.clear();
        tokens.clear();
        state = State.DISCARD;
    }

    private boolean readLine(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        if (!lines.find(in)) {
            int atLeast = lines.incompleteLength(in);
            if (atLeast > limits.maxLineLength() && tooLong(in, start, in.writerIndex(), atLeast)) {
                close(in, out, LINE_TOO_LONG);
            }
            return false;
        }
        int end = lines.end();
        // the same test as above, so that where the input was split cannot change the outcome
        if (end - start > limits.maxLineLength() && tooLong(in, start, end, end - start)) {
            close(in, out, LINE_TOO_LONG);
            return false;
        }
        tokens.split(in, start, end);
        TextCommandParser.Next next;
        try {
            next = parser.parse(out);
        } finally {
            tokens.clear();
        }
        in.readerIndex(lines.next());
        switch (next) {
            case LINE_DONE -> { }
            case READ_DATA -> state = State.READ_DATA;
            case SKIP_DATA -> {
                skipRemaining = parser.skipLength();
                state = State.SKIP_DATA;
            }
            case DISCARD -> {
                state = State.DISCARD;
                in.skipBytes(in.readableBytes());
            }
        }
        return true;
    }

    /**
     * Whether a line of at least {@code length} bytes is over its limit. memcached reads past 2048 bytes only
     * when the line starts with "get " or "gets " (it closes the connection otherwise); magent extends that
     * to gat and gats, and bounds all four by {@link ProtocolLimits#maxRetrievalLineLength()}.
     */
    private boolean tooLong(ByteBuf in, int from, int to, int length) {
        if (length > limits.maxRetrievalLineLength()) {
            return true;
        }
        int at = from;
        while (at < to && in.getByte(at) == Wire.SP) {
            at++;
        }
        for (byte[] prefix : RETRIEVAL_PREFIXES) {
            if (to - at >= prefix.length && regionIs(in, at, prefix)) {
                return false;
            }
        }
        return true;
    }

    private static boolean regionIs(ByteBuf in, int at, byte[] ascii) {
        for (int i = 0; i < ascii.length; i++) {
            if (in.getByte(at + i) != ascii[i]) {
                return false;
            }
        }
        return true;
    }

    private void close(ByteBuf in, List<Object> out, ProtocolError error) {
        out.add(error);
        state = State.DISCARD;
        in.skipBytes(in.readableBytes());
    }

    private boolean readData(ByteBuf in, List<Object> out) {
        int dataLength = parser.dataLength();
        if (in.readableBytes() < dataLength + 2L) {
            return false; // wait: the declared length is never allocated up front
        }
        int at = in.readerIndex() + dataLength;
        if (in.getByte(at) == CR && in.getByte(at + 1) == LF) {
            ByteBuf value = in.readRetainedSlice(dataLength);
            in.skipBytes(2);
            parser.complete(value, out);
        } else {
            in.skipBytes(dataLength + 2);
            parser.badDataChunk(out);
        }
        state = State.READ_LINE;
        return true;
    }

    private boolean skipData(ByteBuf in) {
        int n = (int) Math.min(in.readableBytes(), skipRemaining);
        in.skipBytes(n);
        skipRemaining -= n;
        if (skipRemaining > 0) {
            return false;
        }
        state = State.READ_LINE;
        return true;
    }

    private static boolean discard(ByteBuf in) {
        in.skipBytes(in.readableBytes());
        return false;
    }
}
