package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Server side of the text protocol: request bytes to {@link Command}s, and {@link ProtocolError}s for bad
 * input, in stream order. Handles input split at any byte and any number of pipelined requests per read.
 *
 * <p>A state machine:
 * <ul>
 *   <li>{@code READ_LINE}: a command line, ended by {@code \n} or {@code \r\n} (memcached accepts both);</li>
 *   <li>{@code READ_DATA}: the data block of a storage command, its declared length plus CRLF, taken as a
 *       retained slice of the input (never copied, never allocated up front);</li>
 *   <li>{@code SKIP_DATA}: the data block of a value too large to accept, discarded as it arrives;</li>
 *   <li>{@code DISCARD}: after an error that closes the connection, everything.</li>
 * </ul>
 * Errors are memcached's own, and so is resynchronisation: after {@code CLIENT_ERROR bad data chunk} the
 * next command starts right after the declared length plus two bytes; after {@code SERVER_ERROR object too
 * large for cache} the declared bytes are swallowed. Errors on a command with {@code noreply} are not
 * answered, as in memcached. A line longer than the limit without a newline closes the connection (memcached
 * closes it silently; we first say {@code CLIENT_ERROR line too long}).
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class CommandDecoder extends ByteToMessageDecoder {
    private enum State { READ_LINE, READ_DATA, SKIP_DATA, DISCARD }

    private static final byte[] GET = bytes("get");
    private static final byte[] GETS = bytes("gets");
    private static final byte[] GAT = bytes("gat");
    private static final byte[] GATS = bytes("gats");
    private static final byte[] SET = bytes("set");
    private static final byte[] ADD = bytes("add");
    private static final byte[] REPLACE = bytes("replace");
    private static final byte[] APPEND = bytes("append");
    private static final byte[] PREPEND = bytes("prepend");
    private static final byte[] CAS = bytes("cas");
    private static final byte[] INCR = bytes("incr");
    private static final byte[] DECR = bytes("decr");
    private static final byte[] DELETE = bytes("delete");
    private static final byte[] TOUCH = bytes("touch");
    private static final byte[] FLUSH_ALL = bytes("flush_all");
    private static final byte[] VERSION = bytes("version");
    private static final byte[] STATS = bytes("stats");
    private static final byte[] VERBOSITY = bytes("verbosity");
    private static final byte[] QUIT = bytes("quit");
    private static final byte[] NOREPLY = bytes("noreply");
    private static final byte[] ZERO = bytes("0");

    private static final ErrorReply LINE_TOO_LONG = ErrorReply.client("line too long");
    private static final ErrorReply INVALID_EXPTIME = ErrorReply.client("invalid exptime argument");
    private static final ErrorReply INVALID_DELTA = ErrorReply.client("invalid numeric delta argument");
    private static final ErrorReply DELETE_USAGE =
            ErrorReply.client("bad command line format.  Usage: delete <key> [noreply]");

    private final ProtocolLimits limits;
    private State state = State.READ_LINE;
    private final boolean[] ok = new boolean[1];
    private int[] tokenStart = new int[16];
    private int[] tokenEnd = new int[16];
    private int tokens;

    // the storage command whose data block is awaited
    private Verb pendingVerb;
    private byte[] pendingKey;
    private int pendingFlags;
    private long pendingExptime;
    private long pendingCas;
    private int pendingLength;
    private boolean pendingNoreply;
    private long skipRemaining;

    /** A decoder with memcached's limits. */
    public CommandDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    /** A decoder with the given limits. */
    public CommandDecoder(ProtocolLimits limits) {
        this.limits = limits;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable()) {
            switch (state) {
                case READ_LINE -> {
                    if (!readLine(in, out)) {
                        return;
                    }
                }
                case READ_DATA -> {
                    if (in.readableBytes() < pendingLength + 2) {
                        return;
                    }
                    readData(in, out);
                }
                case SKIP_DATA -> {
                    int n = (int) Math.min(skipRemaining, in.readableBytes());
                    in.skipBytes(n);
                    skipRemaining -= n;
                    if (skipRemaining == 0) {
                        state = State.READ_LINE;
                    }
                }
                case DISCARD -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
            }
        }
    }

    // <data block>\r\n
    private void readData(ByteBuf in, List<Object> out) {
        ByteBuf data = in.readRetainedSlice(pendingLength);
        byte cr = in.readByte();
        byte lf = in.readByte();
        state = State.READ_LINE;
        if (cr != '\r' || lf != '\n') {
            data.release();
            error(out, ErrorReply.BAD_DATA_CHUNK, pendingNoreply);
        } else {
            out.add(new StorageCommand(pendingVerb, pendingKey, pendingFlags, pendingExptime, pendingCas, data,
                    pendingNoreply));
        }
        pendingKey = null;
    }

    private boolean readLine(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int eol = in.indexOf(start, in.writerIndex(), (byte) '\n');
        if (eol < 0) {
            int readable = in.readableBytes();
            if (readable > limits.maxLineLength()
                    && (!startsWithRetrieval(in, start) || readable > limits.maxRetrievalLineLength())) {
                closeWith(in, out, LINE_TOO_LONG);
            }
            return false;
        }
        int end = eol > start && in.getByte(eol - 1) == '\r' ? eol - 1 : eol;
        in.readerIndex(eol + 1);
        int length = end - start;
        if (length > limits.maxLineLength()
                && (!startsWithRetrieval(in, start) || length > limits.maxRetrievalLineLength())) {
            closeWith(in, out, LINE_TOO_LONG);
            return false;
        }
        tokenize(in, start, end);
        if (tokens == 0) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return true;
        }
        command(in, out);
        return true;
    }

    private void closeWith(ByteBuf in, List<Object> out, ErrorReply error) {
        out.add(new ProtocolError(error, true));
        state = State.DISCARD;
        in.skipBytes(in.readableBytes());
    }

    private static boolean startsWithRetrieval(ByteBuf in, int start) {
        int n = Math.min(in.writerIndex() - start, 5);
        if (n < 4) {
            return false;
        }
        byte a = in.getByte(start);
        byte b = in.getByte(start + 1);
        byte c = in.getByte(start + 2);
        byte d = in.getByte(start + 3);
        if (a != 'g' || !(b == 'e' || b == 'a') || c != 't') {
            return false;
        }
        return d == ' ' || d == 's' && n == 5 && in.getByte(start + 4) == ' ';
    }

    /** Splits on spaces as memcached does (runs of spaces are one separator). */
    private void tokenize(ByteBuf in, int start, int end) {
        tokens = 0;
        int i = start;
        while (i < end) {
            while (i < end && in.getByte(i) == ' ') {
                i++;
            }
            if (i >= end) {
                break;
            }
            int s = i;
            while (i < end && in.getByte(i) != ' ') {
                i++;
            }
            if (tokens == tokenStart.length) {
                tokenStart = java.util.Arrays.copyOf(tokenStart, tokens * 2);
                tokenEnd = java.util.Arrays.copyOf(tokenEnd, tokens * 2);
            }
            tokenStart[tokens] = s;
            tokenEnd[tokens] = i;
            tokens++;
        }
    }

    private boolean tokenIs(ByteBuf in, int t, byte[] word) {
        return Ascii.equals(in, tokenStart[t], tokenEnd[t], word);
    }

    private void command(ByteBuf in, List<Object> out) {
        if (tokenIs(in, 0, GET)) {
            retrieval(in, out, Verb.GET, 1);
        } else if (tokenIs(in, 0, SET)) {
            storage(in, out, Verb.SET);
        } else if (tokenIs(in, 0, GETS)) {
            retrieval(in, out, Verb.GETS, 1);
        } else if (tokenIs(in, 0, DELETE)) {
            delete(in, out);
        } else if (tokenIs(in, 0, INCR)) {
            arithmetic(in, out, Verb.INCR);
        } else if (tokenIs(in, 0, DECR)) {
            arithmetic(in, out, Verb.DECR);
        } else if (tokenIs(in, 0, ADD)) {
            storage(in, out, Verb.ADD);
        } else if (tokenIs(in, 0, REPLACE)) {
            storage(in, out, Verb.REPLACE);
        } else if (tokenIs(in, 0, APPEND)) {
            storage(in, out, Verb.APPEND);
        } else if (tokenIs(in, 0, PREPEND)) {
            storage(in, out, Verb.PREPEND);
        } else if (tokenIs(in, 0, CAS)) {
            storage(in, out, Verb.CAS);
        } else if (tokenIs(in, 0, TOUCH)) {
            touch(in, out);
        } else if (tokenIs(in, 0, GAT)) {
            retrieval(in, out, Verb.GAT, 2);
        } else if (tokenIs(in, 0, GATS)) {
            retrieval(in, out, Verb.GATS, 2);
        } else if (tokenIs(in, 0, FLUSH_ALL)) {
            flushAll(in, out);
        } else if (tokenIs(in, 0, VERSION) && tokens == 1) {
            out.add(VersionCommand.INSTANCE);
        } else if (tokenIs(in, 0, QUIT) && tokens == 1) {
            out.add(QuitCommand.INSTANCE);
        } else if (tokenIs(in, 0, STATS)) {
            stats(in, out);
        } else if (tokenIs(in, 0, VERBOSITY) && (tokens == 2 || tokens == 3)) {
            verbosity(in, out);
        } else {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
        }
    }

    /** The key in token t, or null if it is too long or holds control characters. */
    private byte[] key(ByteBuf in, int t) {
        int s = tokenStart[t];
        int len = tokenEnd[t] - s;
        if (len > limits.maxKeyLength()) {
            return null;
        }
        for (int i = s; i < s + len; i++) {
            byte b = in.getByte(i);
            if (b >= 0 && b < 0x20 || b == 0x7f) {
                return null;
            }
        }
        return ByteBufUtil.getBytes(in, s, len);
    }

    private boolean noreplyAt(ByteBuf in, int t) {
        return tokens > t && tokenIs(in, t, NOREPLY);
    }

    private void error(List<Object> out, ErrorReply reply, boolean noreply) {
        if (!noreply) {
            out.add(new ProtocolError(reply, false));
        }
    }

    // get <key>*  |  gets <key>*  |  gat <exptime> <key>*  |  gats <exptime> <key>*
    private void retrieval(ByteBuf in, List<Object> out, Verb verb, int firstKey) {
        if (tokens <= firstKey) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return;
        }
        long exptime = 0;
        if (firstKey == 2) {
            exptime = Ascii.parseInt32(in, tokenStart[1], tokenEnd[1]);
            if (exptime == Ascii.INVALID) {
                error(out, INVALID_EXPTIME, false);
                return;
            }
        }
        List<byte[]> keys = new ArrayList<>(tokens - firstKey);
        for (int t = firstKey; t < tokens; t++) {
            byte[] key = key(in, t);
            if (key == null) {
                error(out, ErrorReply.BAD_COMMAND_LINE, false);
                return;
            }
            keys.add(key);
        }
        out.add(new RetrievalCommand(verb, keys, exptime));
    }

    // <set|add|replace|append|prepend> <key> <flags> <exptime> <bytes> [noreply]
    // cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
    private void storage(ByteBuf in, List<Object> out, Verb verb) {
        int fixed = verb == Verb.CAS ? 6 : 5;
        if (tokens != fixed && tokens != fixed + 1) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return;
        }
        boolean noreply = noreplyAt(in, fixed);
        byte[] key = key(in, 1);
        long flags = Ascii.parseUnsigned(in, tokenStart[2], tokenEnd[2], 0xFFFFFFFFL);
        long exptime = Ascii.parseInt32(in, tokenStart[3], tokenEnd[3]);
        long length = Ascii.parseInt32(in, tokenStart[4], tokenEnd[4]);
        long cas = 0;
        boolean casOk = true;
        if (verb == Verb.CAS) {
            cas = Ascii.parseUnsigned64(in, tokenStart[5], tokenEnd[5], ok);
            casOk = ok[0];
        }
        if (key == null || flags == Ascii.INVALID || exptime == Ascii.INVALID || length == Ascii.INVALID
                || !casOk || length < 0) {
            error(out, ErrorReply.BAD_COMMAND_LINE, noreply);
            return;
        }
        if (length > limits.maxValueSize()) {
            error(out, ErrorReply.OBJECT_TOO_LARGE, noreply);
            skipRemaining = length + 2;
            state = State.SKIP_DATA;
            return;
        }
        pendingVerb = verb;
        pendingKey = key;
        pendingFlags = (int) flags;
        pendingExptime = exptime;
        pendingCas = cas;
        pendingLength = (int) length;
        pendingNoreply = noreply;
        state = State.READ_DATA;
    }

    // incr <key> <value> [noreply]  |  decr <key> <value> [noreply]
    private void arithmetic(ByteBuf in, List<Object> out, Verb verb) {
        if (tokens != 3 && tokens != 4) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return;
        }
        boolean noreply = noreplyAt(in, 3);
        byte[] key = key(in, 1);
        if (key == null) {
            error(out, ErrorReply.BAD_COMMAND_LINE, noreply);
            return;
        }
        long delta = Ascii.parseUnsigned64(in, tokenStart[2], tokenEnd[2], ok);
        if (!ok[0]) {
            error(out, INVALID_DELTA, noreply);
            return;
        }
        out.add(new ArithmeticCommand(verb, key, delta, noreply));
    }

    // delete <key> [0] [noreply]   (the legacy hold time must be 0)
    private void delete(ByteBuf in, List<Object> out) {
        if (tokens < 2 || tokens > 4) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return;
        }
        boolean noreply = noreplyAt(in, tokens - 1);
        if (tokens > 2) {
            boolean holdIsZero = tokenIs(in, 2, ZERO);
            boolean valid = tokens == 3 ? holdIsZero || noreply : holdIsZero && noreply;
            if (!valid) {
                error(out, DELETE_USAGE, noreply);
                return;
            }
        }
        byte[] key = key(in, 1);
        if (key == null) {
            error(out, ErrorReply.BAD_COMMAND_LINE, noreply);
            return;
        }
        out.add(new DeleteCommand(key, noreply));
    }

    // touch <key> <exptime> [noreply]
    private void touch(ByteBuf in, List<Object> out) {
        if (tokens != 3 && tokens != 4) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return;
        }
        boolean noreply = noreplyAt(in, 3);
        byte[] key = key(in, 1);
        if (key == null) {
            error(out, ErrorReply.BAD_COMMAND_LINE, noreply);
            return;
        }
        long exptime = Ascii.parseInt32(in, tokenStart[2], tokenEnd[2]);
        if (exptime == Ascii.INVALID) {
            error(out, INVALID_EXPTIME, noreply);
            return;
        }
        out.add(new TouchCommand(key, exptime, noreply));
    }

    // flush_all [delay] [noreply]
    private void flushAll(ByteBuf in, List<Object> out) {
        if (tokens > 3) {
            out.add(new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false));
            return;
        }
        boolean noreply = noreplyAt(in, tokens - 1) && tokens > 1;
        long delay = FlushAllCommand.NO_DELAY;
        if (tokens == 3 || tokens == 2 && !noreply) {
            delay = Ascii.parseInt32(in, tokenStart[1], tokenEnd[1]);
            if (delay == Ascii.INVALID) {
                error(out, ErrorReply.BAD_COMMAND_LINE, noreply);
                return;
            }
            delay = Math.max(0, delay); // memcached takes a negative delay as "now"
        }
        out.add(new FlushAllCommand(delay, noreply));
    }

    // stats [args]
    private void stats(ByteBuf in, List<Object> out) {
        if (tokens == 1) {
            out.add(StatsCommand.GENERAL);
            return;
        }
        String args = in.toString(tokenStart[1], tokenEnd[tokens - 1] - tokenStart[1], StandardCharsets.US_ASCII);
        out.add(new StatsCommand(args.replaceAll(" +", " ")));
    }

    // verbosity <level> [noreply]
    private void verbosity(ByteBuf in, List<Object> out) {
        boolean noreply = noreplyAt(in, 2);
        long level = Ascii.parseUnsigned(in, tokenStart[1], tokenEnd[1], Integer.MAX_VALUE);
        out.add(new VerbosityCommand(level == Ascii.INVALID ? 0 : (int) level, noreply));
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        pendingKey = null;
    }
}
