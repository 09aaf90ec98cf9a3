package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Server side of the text protocol: {@link Reply}s to bytes. Value data is forwarded as retained
 * duplicates of the buffers it arrived in, never copied: a {@code VALUE} reply becomes a small header
 * buffer, the data, and so on, which the transport writes with one gathering write.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class ReplyEncoder extends MessageToMessageEncoder<Reply> {
    private static final ByteBuf[] STATUS_LINES = new ByteBuf[StatusReply.values().length];
    private static final byte[] VALUE = "VALUE ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF_END = "\r\nEND\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final ByteBuf END = constant("END\r\n");

    static {
        for (StatusReply s : StatusReply.values()) {
            STATUS_LINES[s.ordinal()] = constant(s.name() + "\r\n");
        }
    }

    private static ByteBuf constant(String s) {
        return Unpooled.unreleasableBuffer(
                Unpooled.directBuffer(s.length()).writeBytes(s.getBytes(StandardCharsets.US_ASCII)).asReadOnly());
    }

    public ReplyEncoder() {
        super(Reply.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Reply msg, List<Object> out) {
        if (msg instanceof StatusReply s) {
            out.add(STATUS_LINES[s.ordinal()].duplicate());
        } else if (msg instanceof ValuesReply v) {
            values(ctx, v, out);
        } else if (msg instanceof NumberReply n) {
            ByteBuf b = ctx.alloc().buffer(24);
            Ascii.writeUnsignedDecimal(b, n.value());
            out.add(crlf(b));
        } else if (msg instanceof ErrorReply e) {
            out.add(errorLine(ctx, e));
        } else if (msg instanceof VersionReply v) {
            ByteBuf b = ctx.alloc().buffer(10 + v.version().length());
            b.writeCharSequence("VERSION ", StandardCharsets.US_ASCII);
            ByteBufUtil.writeUtf8(b, v.version());
            out.add(crlf(b));
        } else if (msg instanceof StatsReply s) {
            ByteBuf b = ctx.alloc().buffer(64 * (s.stats().size() + 1));
            for (Stat stat : s.stats()) {
                b.writeCharSequence("STAT ", StandardCharsets.US_ASCII);
                ByteBufUtil.writeUtf8(b, stat.name());
                b.writeByte(' ');
                ByteBufUtil.writeUtf8(b, stat.value());
                crlf(b);
            }
            b.writeCharSequence("END\r\n", StandardCharsets.US_ASCII);
            out.add(b);
        } else if (msg instanceof MetaReply m) {
            meta(ctx, m, out);
        } else {
            throw new IllegalArgumentException("cannot encode " + msg);
        }
    }

    // VALUE <key> <flags> <bytes> [<cas unique>]\r\n<data block>\r\n ... END\r\n
    private static void values(ChannelHandlerContext ctx, ValuesReply reply, List<Object> out) {
        List<Value> values = reply.values();
        if (values.isEmpty()) {
            out.add(END.duplicate());
            return;
        }
        for (int i = 0; i < values.size(); i++) {
            Value v = values.get(i);
            ByteBuf header = ctx.alloc().buffer(2 + VALUE.length + v.key().length + 48);
            if (i > 0) {
                header.writeByte('\r').writeByte('\n'); // the previous value's data ends here
            }
            header.writeBytes(VALUE).writeBytes(v.key()).writeByte(' ');
            Ascii.writeDecimal(header, Integer.toUnsignedLong(v.flags()));
            header.writeByte(' ');
            Ascii.writeDecimal(header, v.data().readableBytes());
            if (v.hasCas()) {
                header.writeByte(' ');
                Ascii.writeUnsignedDecimal(header, v.casUnique());
            }
            out.add(crlf(header));
            out.add(v.data().retainedDuplicate());
        }
        out.add(Unpooled.wrappedBuffer(CRLF_END));
    }

    static ByteBuf errorLine(ChannelHandlerContext ctx, ErrorReply e) {
        ByteBuf b = ctx.alloc().buffer(16 + e.message().length() * 3);
        b.writeCharSequence(e.kind().name(), StandardCharsets.US_ASCII);
        if (!e.message().isEmpty()) {
            b.writeByte(' ');
            ByteBufUtil.writeUtf8(b, e.message());
        }
        return crlf(b);
    }

    // VA <size> <flags>*\r\n<data block>\r\n  |  HD|EN|NF|NS|EX|MN <flags>*\r\n
    private static void meta(ChannelHandlerContext ctx, MetaReply m, List<Object> out) {
        ByteBuf b = ctx.alloc().buffer(32);
        b.writeCharSequence(m.code(), StandardCharsets.US_ASCII);
        if (m.data() != null) {
            b.writeByte(' ');
            Ascii.writeDecimal(b, m.data().readableBytes());
        }
        for (String f : m.flags()) {
            b.writeByte(' ');
            ByteBufUtil.writeUtf8(b, f);
        }
        out.add(crlf(b));
        if (m.data() != null) {
            out.add(m.data().retainedDuplicate());
            out.add(Unpooled.wrappedBuffer(new byte[] {'\r', '\n'}));
        }
    }

    private static ByteBuf crlf(ByteBuf b) {
        return b.writeByte('\r').writeByte('\n');
    }
}
