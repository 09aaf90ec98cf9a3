package dev.magent.protocol;

import static dev.magent.protocol.Wire.CR;
import static dev.magent.protocol.Wire.LF;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Client side: reply bytes to {@link Reply}s. Replies describe themselves, so no knowledge of the requests
 * is needed:
 * <ul>
 *   <li>{@code VALUE} lines (with their data) up to {@code END} become one {@link ValuesReply}; a bare
 *       {@code END} is {@link ValuesReply#EMPTY} (an empty {@code stats} reply looks the same);</li>
 *   <li>{@code STAT} lines up to {@code END} become one {@link StatsReply};</li>
 *   <li>{@code PREFIX} lines up to {@code END} ({@code stats detail dump}) become one {@link TextReply}, as do
 *       the one-line answers of the administrative commands ({@code RESET}, {@code BUSY ...},
 *       {@code BADCLASS ...}, {@code NOSPARE ...}, {@code SAME ...}, {@code NOTSTARTED ...},
 *       {@code MEMLIMIT_TOO_SMALL ...}, {@code MEMLIMIT_ADJUST_FAILED ...});</li>
 *   <li>a line of digits is a {@link NumberReply} (unsigned 64-bit);</li>
 *   <li>{@code STORED}, {@code NOT_STORED}, {@code EXISTS}, {@code NOT_FOUND}, {@code DELETED},
 *       {@code TOUCHED}, {@code OK} are {@link StatusReply}s; {@code VERSION <v>} a {@link VersionReply};
 *       {@code ERROR}, {@code CLIENT_ERROR <m>}, {@code SERVER_ERROR <m>} {@link ErrorReply}s (an error
 *       line in the middle of VALUE or STAT lines ends that reply: the partial items are dropped);</li>
 *   <li>meta replies {@code VA <size> <flags>*} (with data), {@code HD}, {@code EN}, {@code NF}, {@code NS},
 *       {@code EX}, {@code MN}, and {@code me}'s {@code ME <key> <k>=<v>*} become {@link MetaReply}s.</li>
 * </ul>
 * Data blocks are retained slices of the received bytes, never copied and never allocated up front from
 * the declared size. Anything else, a line longer than {@link ProtocolLimits#maxLineLength()} or a data
 * block larger than {@link ProtocolLimits#maxValueSize()}, yields one {@link ProtocolError} with
 * {@code closeConnection} set, since the stream can no longer be matched to requests; all further input is
 * then discarded. Partially aggregated values are released on such an error, at end of input and when the
 * decoder is removed.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class ReplyDecoder extends ByteToMessageDecoder {
    /** Where the decoder is in the reply stream. */
    enum State {
        /** Waiting for a whole reply line. */
        READ_LINE,
        /** A {@code VALUE} line was read: waiting for its data block and CRLF. */
        READ_VALUE_DATA,
        /** A {@code VA} line was read: waiting for its data block and CRLF. */
        READ_META_DATA,
        /** After an unparsable reply: everything else is ignored. */
        DISCARD
    }

    private static final StatusReply[] STATUSES = StatusReply.values();
    private static final byte[][] STATUS_BYTES = new byte[STATUSES.length][];

    static {
        for (int i = 0; i < STATUSES.length; i++) {
            STATUS_BYTES[i] = Wire.ascii(STATUSES[i].name());
        }
    }

    /** The first words of the administrative commands' one-line answers, which become {@link TextReply}s. */
    private static final byte[][] ADMIN_WORDS = {
        Wire.ascii("RESET"), Wire.ascii("BUSY"), Wire.ascii("BADCLASS"), Wire.ascii("NOSPARE"), Wire.ascii("SAME"),
        Wire.ascii("NOTSTARTED"), Wire.ascii("MEMLIMIT_TOO_SMALL"), Wire.ascii("MEMLIMIT_ADJUST_FAILED"),
    };

    private final ProtocolLimits limits;
    private final LineTokens tokens = new LineTokens();
    private State state = State.READ_LINE;
    private final LineReader lines = new LineReader();

    /** VALUE items of the reply being aggregated, or null when not in a VALUE reply. */
    private List<Value> values;
    /** STAT lines of the reply being aggregated, or null when not in a STAT reply. */
    private List<Stat> stats;
    /** PREFIX lines of the stats detail dump being gathered, or null when not in one. */
    private StringBuilder prefixes;

    // The VALUE or VA line waiting for its data block.
    private byte[] dataKey;
    private int dataFlags;
    private long dataCas;
    private int dataLength;
    private List<String> dataMetaFlags;

    /** A decoder with memcached's limits. */
    public ReplyDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    /**
     * A decoder with the given limits.
     *
     * @param limits the line limit and the largest data block accepted from the server
     */
    public ReplyDecoder(ProtocolLimits limits) {
        this.limits = limits;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean progress;
        do {
            progress = switch (state) {
                case READ_LINE -> readLine(in, out);
                case READ_VALUE_DATA, READ_META_DATA -> readData(in, out);
                case DISCARD -> discard(in);
            };
        } while (progress);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        super.decodeLast(ctx, in, out);
        // the connection ended inside a reply: what was gathered of it cannot be delivered
        releasePartial();
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        releasePartial();
        tokens.clear();
        state = State.DISCARD;
    }

    private void releasePartial() {
        if (values != null) {
            for (Value v : values) {
                v.data().release();
            }
            values = null;
        }
        stats = null;
        prefixes = null;
        dataKey = null;
        dataMetaFlags = null;
    }

    private boolean readLine(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        if (!lines.find(in)) {
            if (lines.incompleteLength(in) > limits.maxLineLength()) {
                fail(in, out, "reply line longer than " + limits.maxLineLength() + " bytes");
            }
            return false;
        }
        int end = lines.end();
        if (end - start > limits.maxLineLength()) {
            fail(in, out, "reply line longer than " + limits.maxLineLength() + " bytes");
            return false;
        }
        tokens.split(in, start, end);
        String problem;
        try {
            problem = reply(in, start, end, out);
        } finally {
            tokens.clear();
        }
        if (problem != null) {
            fail(in, out, problem + ": '" + printable(in, start, end) + "'");
            return false;
        }
        in.readerIndex(lines.next());
        return true;
    }

    /** Parses one reply line; returns what is wrong with it, or null. */
    private String reply(ByteBuf in, int start, int end, List<Object> out) {
        int n = tokens.count();
        if (n == 0) {
            return "empty reply line";
        }
        if (tokens.is(0, Wire.VALUE)) {
            return valueLine();
        }
        if (tokens.is(0, Wire.END) && n == 1) {
            // END\r\n closes VALUE lines, STAT lines, or a reply with no items at all
            if (values != null) {
                out.add(new ValuesReply(values));
                values = null;
            } else if (stats != null) {
                out.add(new StatsReply(stats));
                stats = null;
            } else if (prefixes != null) {
                out.add(new TextReply(prefixes.append("END\r\n").toString()));
                prefixes = null;
            } else {
                out.add(ValuesReply.EMPTY);
            }
            return null;
        }
        if (tokens.is(0, Wire.STAT)) {
            // STAT <name> <value>\r\n   (the value may hold spaces)
            if (values != null || prefixes != null) {
                return "STAT line inside a " + (values != null ? "VALUE" : "PREFIX") + " reply";
            }
            if (n < 2) {
                return "STAT line without a name";
            }
            int valueStart = n > 2 ? tokens.start(2) : end;
            if (stats == null) {
                stats = new ArrayList<>();
            }
            String value = in.toString(valueStart, end - valueStart, StandardCharsets.UTF_8);
            stats.add(new Stat(tokens.string(1).replace('\r', ' '), value.replace('\r', ' ')));
            return null;
        }
        if (tokens.is(0, Wire.PREFIX) && values == null && stats == null) {
            // PREFIX <prefix> get <n> hit <n> set <n> del <n>\r\n, up to END: stats detail dump
            if (prefixes == null) {
                prefixes = new StringBuilder();
            }
            prefixes.append(in.toString(start, end - start, StandardCharsets.ISO_8859_1)).append("\r\n");
            return null;
        }
        ErrorReply error = errorLine(in, end);
        if (error != null) {
            // an error ends the reply it interrupts, e.g. SERVER_ERROR out of memory writing get response
            releasePartial();
            out.add(error);
            return null;
        }
        if (values != null || stats != null || prefixes != null) {
            return "unexpected line inside a " + (values != null ? "VALUE" : stats != null ? "STAT" : "PREFIX")
                    + " reply";
        }
        for (byte[] word : ADMIN_WORDS) {
            if (tokens.is(0, word)) {
                // the answers of the admin commands: RESET, BUSY currently processing reassign request, ...
                out.add(new TextReply(in.toString(start, end - start, StandardCharsets.ISO_8859_1) + "\r\n"));
                return null;
            }
        }
        if (n == 1) {
            for (int i = 0; i < STATUSES.length; i++) {
                if (tokens.is(0, STATUS_BYTES[i])) {
                    out.add(STATUSES[i]); // STORED, NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOUCHED, OK
                    return null;
                }
            }
            if (isDigit(in.getByte(tokens.start(0)))) {
                // <value>\r\n: the result of incr or decr
                if (!tokens.parseU64(0)) {
                    return "not an unsigned 64-bit number";
                }
                out.add(new NumberReply(tokens.number()));
                return null;
            }
        }
        if (tokens.is(0, Wire.VERSION) && n >= 2) {
            // VERSION <version>\r\n
            String version = in.toString(tokens.start(1), end - tokens.start(1), StandardCharsets.UTF_8);
            out.add(new VersionReply(version.replace('\r', ' '))); // one line, whatever the server sent
            return null;
        }
        if (tokens.length(0) == 2) {
            return metaLine(out);
        }
        return "unknown reply";
    }

    private String valueLine() {
        // VALUE <key> <flags> <bytes> [<cas unique>]\r\n
        int n = tokens.count();
        if (stats != null || prefixes != null) {
            return "VALUE line inside a " + (stats != null ? "STAT" : "PREFIX") + " reply";
        }
        if (n != 4 && n != 5) {
            return "VALUE line with " + n + " tokens";
        }
        if (!tokens.parseU32(2)) {
            return "VALUE line with bad flags";
        }
        int flags = (int) tokens.number();
        if (!tokens.parseS32(3) || tokens.number() < 0) {
            return "VALUE line with bad length";
        }
        long length = tokens.number();
        if (length > limits.maxValueSize()) {
            return "VALUE of " + length + " bytes, above the limit of " + limits.maxValueSize();
        }
        long cas = Value.NO_CAS;
        if (n == 5) {
            if (!tokens.parseU64(4)) {
                return "VALUE line with bad cas unique";
            }
            cas = tokens.number();
        }
        byte[] key = tokens.bytes(1);
        if (!Wire.validKey(key, Integer.MAX_VALUE)) {
            return "VALUE line with a bad key";
        }
        dataKey = key;
        dataFlags = flags;
        dataLength = (int) length;
        dataCas = cas;
        state = State.READ_VALUE_DATA;
        return null;
    }

    private String metaLine(List<Object> out) {
        // VA <size> <flags>*\r\n<data block>\r\n  |  HD|EN|NF|NS|EX|MN <flags>*\r\n  |  ME <key> <k>=<v>*\r\n
        String code = tokens.string(0);
        boolean known = false;
        for (String c : Wire.META_CODES) {
            known |= c.equals(code);
        }
        if (!known) {
            return "unknown reply";
        }
        int firstFlag = 1;
        if (code.equals("VA")) {
            if (tokens.count() < 2 || !tokens.parseS32(1) || tokens.number() < 0) {
                return "VA line with bad size";
            }
            if (tokens.number() > limits.maxValueSize()) {
                return "VA of " + tokens.number() + " bytes, above the limit of " + limits.maxValueSize();
            }
            dataLength = (int) tokens.number();
            firstFlag = 2;
        }
        List<String> flags = tokens.count() == firstFlag ? List.of() : new ArrayList<>(tokens.count() - firstFlag);
        for (int i = firstFlag; i < tokens.count(); i++) {
            flags.add(tokens.string(i));
        }
        if (code.equals("VA")) {
            dataMetaFlags = flags;
            state = State.READ_META_DATA;
            return null;
        }
        out.add(new MetaReply(code, flags, null));
        return null;
    }

    /** An error line as a reply, or null if the line is not one. */
    private ErrorReply errorLine(ByteBuf in, int end) {
        ErrorReply.Kind kind;
        if (tokens.is(0, Wire.ERROR)) {
            kind = ErrorReply.Kind.ERROR;
        } else if (tokens.is(0, Wire.CLIENT_ERROR)) {
            kind = ErrorReply.Kind.CLIENT_ERROR;
        } else if (tokens.is(0, Wire.SERVER_ERROR)) {
            kind = ErrorReply.Kind.SERVER_ERROR;
        } else {
            return null;
        }
        if (tokens.count() == 1) {
            return kind == ErrorReply.Kind.ERROR ? ErrorReply.UNKNOWN_COMMAND : new ErrorReply(kind, "");
        }
        int from = tokens.start(1);
        String message = in.toString(from, end - from, StandardCharsets.UTF_8);
        // a lone CR inside a line (lines may end in a bare LF) must not reach a one-line message
        return new ErrorReply(kind, message.replace('\r', ' '));
    }

    private boolean readData(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < dataLength + 2L) {
            return false;
        }
        int at = in.readerIndex() + dataLength;
        if (in.getByte(at) != CR || in.getByte(at + 1) != LF) {
            fail(in, out, "data block of " + dataLength + " bytes not followed by CRLF");
            return false;
        }
        ByteBuf data = in.readRetainedSlice(dataLength);
        in.skipBytes(2);
        if (state == State.READ_VALUE_DATA) {
            if (values == null) {
                values = new ArrayList<>(4);
            }
            values.add(new Value(dataKey, dataFlags, data, dataCas));
            dataKey = null;
        } else {
            out.add(new MetaReply("VA", dataMetaFlags, data));
            dataMetaFlags = null;
        }
        state = State.READ_LINE;
        return true;
    }

    private static boolean discard(ByteBuf in) {
        in.skipBytes(in.readableBytes());
        return false;
    }

    /** Reports the stream as broken, once, and ignores the rest of it. */
    private void fail(ByteBuf in, List<Object> out, String problem) {
        releasePartial();
        out.add(new ProtocolError(ErrorReply.server("unparsable reply: " + problem), true));
        state = State.DISCARD;
        in.skipBytes(in.readableBytes());
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** Up to 64 bytes of a line, with anything unprintable shown as '?', for an error message. */
    private static String printable(ByteBuf in, int start, int end) {
        int length = Math.min(end - start, 64);
        StringBuilder sb = new StringBuilder(length + 3);
        for (int i = 0; i < length; i++) {
            int b = in.getByte(start + i) & 0xFF;
            sb.append(b >= 0x20 && b < 0x7F ? (char) b : '?');
        }
        return end - start > length ? sb.append("...").toString() : sb.toString();
    }
}
