package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Client side of the text protocol: reply bytes to {@link Reply}s. Replies are self-describing, so no
 * knowledge of the requests is needed: {@code VALUE} lines are gathered up to {@code END} into one
 * {@link ValuesReply}, {@code STAT} lines into one {@link StatsReply} (a bare {@code END} is an empty
 * {@link ValuesReply}). Value data stays a retained slice of the input.
 *
 * <p>A reply that cannot be parsed yields one {@link ProtocolError} with {@code closeConnection} set, and
 * everything after it is discarded: the stream can no longer be matched to requests.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class ReplyDecoder extends ByteToMessageDecoder {
    private enum State { READ_LINE, READ_VALUE, READ_META_VALUE, DISCARD }

    private static final byte[] VALUE = bytes("VALUE");
    private static final byte[] END = bytes("END");
    private static final byte[] STAT = bytes("STAT");
    private static final byte[] VERSION = bytes("VERSION");
    private static final byte[] ERROR = bytes("ERROR");
    private static final byte[] CLIENT_ERROR = bytes("CLIENT_ERROR");
    private static final byte[] SERVER_ERROR = bytes("SERVER_ERROR");
    private static final byte[] VA = bytes("VA");
    private static final byte[][] STATUS = new byte[StatusReply.values().length][];
    private static final String[] META_CODES = {"HD", "EN", "NF", "NS", "EX", "MN"};

    static {
        for (StatusReply s : StatusReply.values()) {
            STATUS[s.ordinal()] = bytes(s.name());
        }
    }

    private final ProtocolLimits limits;
    private final boolean[] ok = new boolean[1];
    private State state = State.READ_LINE;
    private List<Value> values;
    private List<Stat> stats;
    // the VALUE or VA line whose data is awaited
    private byte[] pendingKey;
    private int pendingFlags;
    private long pendingCas;
    private int pendingLength;
    private String pendingMetaCode;
    private List<String> pendingMetaFlags;

    public ReplyDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    public ReplyDecoder(ProtocolLimits limits) {
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
                case READ_VALUE, READ_META_VALUE -> {
                    if (in.readableBytes() < pendingLength + 2) {
                        return;
                    }
                    ByteBuf data = in.readRetainedSlice(pendingLength);
                    if (in.readByte() != '\r' || in.readByte() != '\n') {
                        data.release();
                        fail(in, out, "value not followed by CRLF");
                        return;
                    }
                    if (state == State.READ_VALUE) {
                        if (values == null) {
                            values = new ArrayList<>(4);
                        }
                        values.add(new Value(pendingKey, pendingFlags, data, pendingCas));
                    } else {
                        out.add(new MetaReply(pendingMetaCode, pendingMetaFlags, data));
                    }
                    state = State.READ_LINE;
                }
                case DISCARD -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
            }
        }
    }

    private boolean readLine(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int eol = in.indexOf(start, in.writerIndex(), (byte) '\n');
        if (eol < 0) {
            if (in.readableBytes() > limits.maxLineLength()) {
                fail(in, out, "reply line longer than " + limits.maxLineLength() + " bytes");
            }
            return false;
        }
        int end = eol > start && in.getByte(eol - 1) == '\r' ? eol - 1 : eol;
        in.readerIndex(eol + 1);
        int sp = in.indexOf(start, end, (byte) ' ');
        int wordEnd = sp < 0 ? end : sp;
        if (values != null || stats != null) {
            // inside a multi-line reply only its own lines, its END, or an error may follow
            if (!(Ascii.equals(in, start, wordEnd, VALUE) && stats == null)
                    && !(Ascii.equals(in, start, wordEnd, STAT) && values == null)
                    && !Ascii.equals(in, start, wordEnd, END)
                    && !isError(in, start, wordEnd)) {
                fail(in, out, "unexpected line inside a multi-line reply");
                return false;
            }
        }
        if (Ascii.equals(in, start, wordEnd, VALUE)) {
            return valueLine(in, out, wordEnd, end);
        }
        if (Ascii.equals(in, start, wordEnd, END) && sp < 0) {
            if (stats != null) {
                out.add(new StatsReply(stats));
            } else {
                out.add(values == null ? ValuesReply.EMPTY : new ValuesReply(values));
            }
            values = null;
            stats = null;
            return true;
        }
        if (Ascii.equals(in, start, wordEnd, STAT) && sp >= 0) {
            int nameEnd = in.indexOf(sp + 1, end, (byte) ' ');
            if (nameEnd < 0) {
                nameEnd = end;
            }
            if (stats == null) {
                stats = new ArrayList<>(64);
            }
            String name = in.toString(sp + 1, nameEnd - sp - 1, StandardCharsets.UTF_8);
            String value = nameEnd < end ? in.toString(nameEnd + 1, end - nameEnd - 1, StandardCharsets.UTF_8) : "";
            stats.add(new Stat(name, value));
            return true;
        }
        if (sp < 0) {
            for (StatusReply s : StatusReply.values()) {
                if (Ascii.equals(in, start, end, STATUS[s.ordinal()])) {
                    out.add(s);
                    return true;
                }
            }
            long n = Ascii.parseUnsigned64(in, start, end, ok);
            if (ok[0]) {
                out.add(new NumberReply(n));
                return true;
            }
        }
        if (isError(in, start, wordEnd)) {
            releaseValues();
            ErrorReply.Kind kind = Ascii.equals(in, start, wordEnd, ERROR) ? ErrorReply.Kind.ERROR
                    : Ascii.equals(in, start, wordEnd, CLIENT_ERROR) ? ErrorReply.Kind.CLIENT_ERROR
                    : ErrorReply.Kind.SERVER_ERROR;
            // a stray CR inside the line must not end up in a one-line error
            String message = sp < 0 ? "" : in.toString(sp + 1, end - sp - 1, StandardCharsets.UTF_8).replace('\r', ' ');
            out.add(new ErrorReply(kind, message));
            return true;
        }
        if (Ascii.equals(in, start, wordEnd, VERSION) && sp >= 0) {
            out.add(new VersionReply(in.toString(sp + 1, end - sp - 1, StandardCharsets.UTF_8)));
            return true;
        }
        return metaLine(in, out, start, wordEnd, end);
    }

    private static boolean isError(ByteBuf in, int start, int wordEnd) {
        return Ascii.equals(in, start, wordEnd, ERROR) || Ascii.equals(in, start, wordEnd, CLIENT_ERROR)
                || Ascii.equals(in, start, wordEnd, SERVER_ERROR);
    }

    // VALUE <key> <flags> <bytes> [<cas unique>]
    private boolean valueLine(ByteBuf in, List<Object> out, int from, int end) {
        int[] t = new int[8];
        int n = fields(in, from, end, t);
        if (n != 3 && n != 4) {
            fail(in, out, "bad VALUE line");
            return false;
        }
        int keyLen = t[1] - t[0];
        long flags = Ascii.parseUnsigned(in, t[2], t[3], 0xFFFFFFFFL);
        long length = Ascii.parseUnsigned(in, t[4], t[5], limits.maxValueSize());
        long cas = Value.NO_CAS;
        if (n == 4) {
            cas = Ascii.parseUnsigned64(in, t[6], t[7], ok);
            if (!ok[0]) {
                fail(in, out, "bad cas unique");
                return false;
            }
        }
        if (keyLen < 1 || keyLen > limits.maxKeyLength() || flags == Ascii.INVALID || length == Ascii.INVALID) {
            fail(in, out, "bad VALUE line");
            return false;
        }
        if (values == null) {
            values = new ArrayList<>(4);
        }
        pendingKey = ByteBufUtil.getBytes(in, t[0], keyLen);
        pendingFlags = (int) flags;
        pendingLength = (int) length;
        pendingCas = cas;
        state = State.READ_VALUE;
        return true;
    }

    // VA <size> <flag>*  |  HD|EN|NF|NS|EX|MN <flag>*
    private boolean metaLine(ByteBuf in, List<Object> out, int start, int wordEnd, int end) {
        String code = in.toString(start, wordEnd - start, StandardCharsets.US_ASCII);
        List<String> flags = new ArrayList<>(4);
        int[] t = new int[64];
        int n = fields(in, wordEnd, end, t);
        if (n < 0) {
            fail(in, out, "too many fields in a meta reply");
            return false;
        }
        if (Ascii.equals(in, start, wordEnd, VA)) {
            long length = n < 1 ? Ascii.INVALID : Ascii.parseUnsigned(in, t[0], t[1], limits.maxValueSize());
            if (length == Ascii.INVALID) {
                fail(in, out, "bad VA line");
                return false;
            }
            for (int i = 1; i < n; i++) {
                flags.add(in.toString(t[2 * i], t[2 * i + 1] - t[2 * i], StandardCharsets.US_ASCII));
            }
            pendingMetaCode = code;
            pendingMetaFlags = flags;
            pendingLength = (int) length;
            state = State.READ_META_VALUE;
            return true;
        }
        for (String c : META_CODES) {
            if (c.equals(code)) {
                for (int i = 0; i < n; i++) {
                    flags.add(in.toString(t[2 * i], t[2 * i + 1] - t[2 * i], StandardCharsets.US_ASCII));
                }
                out.add(new MetaReply(code, flags, null));
                return true;
            }
        }
        fail(in, out, "unknown reply '" + (code.length() > 40 ? code.substring(0, 40) : code) + "'");
        return false;
    }

    /** Space-separated fields after {@code from}, as start/end pairs into t; -1 if more than fit. */
    private static int fields(ByteBuf in, int from, int end, int[] t) {
        int n = 0;
        int i = from;
        while (i < end) {
            while (i < end && in.getByte(i) == ' ') {
                i++;
            }
            if (i >= end) {
                break;
            }
            if (2 * n + 1 >= t.length) {
                return -1;
            }
            t[2 * n] = i;
            while (i < end && in.getByte(i) != ' ') {
                i++;
            }
            t[2 * n + 1] = i;
            n++;
        }
        return n;
    }

    private void fail(ByteBuf in, List<Object> out, String why) {
        releaseValues();
        stats = null;
        state = State.DISCARD;
        in.skipBytes(in.readableBytes());
        // what the server sent may hold any byte: keep the error one printable line
        String printable = why.replace('\r', ' ').replace('\n', ' ');
        out.add(new ProtocolError(ErrorReply.server("bad reply from server: " + printable), true));
    }

    private void releaseValues() {
        if (values != null) {
            for (Value v : values) {
                v.data().release();
            }
            values = null;
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        releaseValues();
    }
}
