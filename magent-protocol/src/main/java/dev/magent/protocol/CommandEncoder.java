package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Client side of the text protocol: {@link Command}s to bytes. A storage command's data is forwarded as a
 * retained duplicate of its buffer, never copied.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class CommandEncoder extends MessageToMessageEncoder<Command> {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] NOREPLY = " noreply".getBytes(StandardCharsets.US_ASCII);
    private static final byte[][] VERB_SPACE = new byte[Verb.values().length][];

    static {
        for (Verb v : Verb.values()) {
            VERB_SPACE[v.ordinal()] = (v.wireName() + " ").getBytes(StandardCharsets.US_ASCII);
        }
    }

    public CommandEncoder() {
        super(Command.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Command msg, List<Object> out) {
        if (msg instanceof RetrievalCommand r) {
            // get|gets <key>*  |  gat|gats <exptime> <key>*
            int size = 16;
            for (byte[] k : r.keys()) {
                size += k.length + 1;
            }
            ByteBuf b = ctx.alloc().buffer(size);
            b.writeBytes(VERB_SPACE[r.verb().ordinal()]);
            if (r.verb() == Verb.GAT || r.verb() == Verb.GATS) {
                Ascii.writeSignedDecimal(b, r.exptime());
                b.writeByte(' ');
            }
            List<byte[]> keys = r.keys();
            for (int i = 0; i < keys.size(); i++) {
                if (i > 0) {
                    b.writeByte(' ');
                }
                b.writeBytes(keys.get(i));
            }
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof StorageCommand s) {
            // <verb> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]\r\n<data>\r\n
            ByteBuf b = ctx.alloc().buffer(s.key().length + 64);
            b.writeBytes(VERB_SPACE[s.verb().ordinal()]).writeBytes(s.key()).writeByte(' ');
            Ascii.writeDecimal(b, Integer.toUnsignedLong(s.flags()));
            b.writeByte(' ');
            Ascii.writeSignedDecimal(b, s.exptime());
            b.writeByte(' ');
            Ascii.writeDecimal(b, s.value().readableBytes());
            if (s.verb() == Verb.CAS) {
                b.writeByte(' ');
                Ascii.writeUnsignedDecimal(b, s.casUnique());
            }
            noreply(b, s.noreply());
            out.add(b.writeBytes(CRLF));
            out.add(s.value().retainedDuplicate());
            out.add(Unpooled.wrappedBuffer(CRLF));
        } else if (msg instanceof ArithmeticCommand a) {
            // incr|decr <key> <value> [noreply]
            ByteBuf b = ctx.alloc().buffer(a.key().length + 40);
            b.writeBytes(VERB_SPACE[a.verb().ordinal()]).writeBytes(a.key()).writeByte(' ');
            Ascii.writeUnsignedDecimal(b, a.delta());
            noreply(b, a.noreply());
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof DeleteCommand d) {
            // delete <key> [noreply]
            ByteBuf b = ctx.alloc().buffer(d.key().length + 20);
            b.writeBytes(VERB_SPACE[Verb.DELETE.ordinal()]).writeBytes(d.key());
            noreply(b, d.noreply());
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof TouchCommand t) {
            // touch <key> <exptime> [noreply]
            ByteBuf b = ctx.alloc().buffer(t.key().length + 32);
            b.writeBytes(VERB_SPACE[Verb.TOUCH.ordinal()]).writeBytes(t.key()).writeByte(' ');
            Ascii.writeSignedDecimal(b, t.exptime());
            noreply(b, t.noreply());
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof FlushAllCommand f) {
            // flush_all [delay] [noreply]
            ByteBuf b = ctx.alloc().buffer(40);
            b.writeCharSequence("flush_all", StandardCharsets.US_ASCII);
            if (f.delay() != FlushAllCommand.NO_DELAY) {
                b.writeByte(' ');
                Ascii.writeDecimal(b, f.delay());
            }
            noreply(b, f.noreply());
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof MetaGetCommand m) {
            // mg <key> <flag>*
            ByteBuf b = ctx.alloc().buffer(m.key().length + 32);
            b.writeBytes(VERB_SPACE[Verb.MG.ordinal()]).writeBytes(m.key());
            for (String flag : m.flags()) {
                b.writeByte(' ');
                ByteBufUtil.writeUtf8(b, flag);
            }
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof StatsCommand s) {
            // stats [args]
            ByteBuf b = ctx.alloc().buffer(16 + s.arguments().length());
            b.writeCharSequence("stats", StandardCharsets.US_ASCII);
            if (!s.arguments().isEmpty()) {
                b.writeByte(' ');
                ByteBufUtil.writeUtf8(b, s.arguments());
            }
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof VerbosityCommand v) {
            // verbosity <level> [noreply]
            ByteBuf b = ctx.alloc().buffer(32);
            b.writeBytes(VERB_SPACE[Verb.VERBOSITY.ordinal()]);
            Ascii.writeDecimal(b, v.level());
            noreply(b, v.noreply());
            out.add(b.writeBytes(CRLF));
        } else if (msg instanceof VersionCommand) {
            out.add(Unpooled.wrappedBuffer("version\r\n".getBytes(StandardCharsets.US_ASCII)));
        } else if (msg instanceof QuitCommand) {
            out.add(Unpooled.wrappedBuffer("quit\r\n".getBytes(StandardCharsets.US_ASCII)));
        } else {
            throw new IllegalArgumentException("cannot encode " + msg);
        }
    }

    private static void noreply(ByteBuf b, boolean noreply) {
        if (noreply) {
            b.writeBytes(NOREPLY);
        }
    }
}
