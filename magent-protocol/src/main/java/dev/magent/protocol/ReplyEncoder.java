package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Server side: {@link Reply}s to bytes. The text of a reply goes into one pooled buffer, with the data of
 * small values (up to 1 KiB) copied in, so that a typical reply is one buffer; larger data is forwarded as
 * retained duplicates of the reply's buffers, never copied (text, data, text, ...). The encoder releases the
 * reply it consumes.
 *
 * <p>A reply whose text fields would break the line framing (a CR or LF in a version string, a stat, a meta
 * flag; a key with a space or control character) fails the write with an {@link EncoderException} before
 * any byte is written.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class ReplyEncoder extends MessageToMessageEncoder<Reply> {
    private static final byte[][] STATUS_LINES = new byte[StatusReply.values().length][];
    private static final byte[] VALUE_SP = Wire.ascii("VALUE ");
    private static final byte[] STAT_SP = Wire.ascii("STAT ");
    private static final byte[] VERSION_SP = Wire.ascii("VERSION ");

    static {
        for (StatusReply status : StatusReply.values()) {
            STATUS_LINES[status.ordinal()] = status.line();
        }
    }

    /** An encoder for every {@link Reply}. */
    public ReplyEncoder() {
        super(Reply.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Reply msg, List<Object> out) {
        if (msg instanceof StatusReply status) {
            // STORED\r\n, NOT_STORED\r\n, EXISTS\r\n, NOT_FOUND\r\n, DELETED\r\n, TOUCHED\r\n, OK\r\n
            byte[] line = STATUS_LINES[status.ordinal()];
            out.add(ctx.alloc().ioBuffer(line.length).writeBytes(line));
        } else if (msg instanceof ValuesReply values) {
            encodeValues(ctx, values, out);
        } else if (msg instanceof NumberReply number) {
            // <value>\r\n
            ByteBuf buf = ctx.alloc().ioBuffer(Decimal.length(number.value()) + 2);
            Decimal.write(buf, number.value());
            out.add(buf.writeBytes(Wire.CRLF));
        } else if (msg instanceof VersionReply version) {
            // VERSION <version>\r\n
            requireOneLine(version.version());
            ByteBuf buf = ctx.alloc().ioBuffer(VERSION_SP.length + ByteBufUtil.utf8Bytes(version.version()) + 2);
            buf.writeBytes(VERSION_SP);
            ByteBufUtil.writeUtf8(buf, version.version());
            out.add(buf.writeBytes(Wire.CRLF));
        } else if (msg instanceof StatsReply stats) {
            encodeStats(ctx, stats, out);
        } else if (msg instanceof ErrorReply error) {
            // ERROR\r\n | CLIENT_ERROR <message>\r\n | SERVER_ERROR <message>\r\n
            String keyword = error.kind().name();
            String message = error.message();
            int size = keyword.length() + (message.isEmpty() ? 0 : 1 + ByteBufUtil.utf8Bytes(message)) + 2;
            ByteBuf buf = ctx.alloc().ioBuffer(size);
            ByteBufUtil.writeAscii(buf, keyword);
            if (!message.isEmpty()) {
                buf.writeByte(Wire.SP);
                ByteBufUtil.writeUtf8(buf, message);
            }
            out.add(buf.writeBytes(Wire.CRLF));
        } else if (msg instanceof MetaReply meta) {
            encodeMeta(ctx, meta, out);
        } else if (msg instanceof TextReply text) {
            // <line>\r\n ..., as the server wrote it
            ByteBuf buf = ctx.alloc().ioBuffer(text.text().length());
            buf.writeCharSequence(text.text(), StandardCharsets.ISO_8859_1);
            out.add(buf);
        } else {
            throw new EncoderException("unknown reply type: " + msg.getClass().getName());
        }
    }

    private static void encodeValues(ChannelHandlerContext ctx, ValuesReply reply, List<Object> out) {
        // VALUE <key> <flags> <bytes> [<cas unique>]\r\n<data block>\r\n ... END\r\n
        List<Value> values = reply.values();
        int size = Wire.END_CRLF.length;
        for (int i = 0; i < values.size(); i++) {
            Value v = values.get(i);
            if (!Wire.validKey(v.key(), Integer.MAX_VALUE)) {
                throw new EncoderException("a key with a space, LF or NUL: " + Keys.toString(v.key()));
            }
            int length = v.data().readableBytes();
            size += VALUE_SP.length + v.key().length + 1 + Decimal.length(Integer.toUnsignedLong(v.flags()))
                    + 1 + Decimal.length(length) + 2 + 2 + (length <= Wire.INLINE_DATA_MAX ? length : 0);
            if (v.hasCas()) {
                size += 1 + Decimal.length(v.casUnique());
            }
        }
        ByteBuf text = ctx.alloc().ioBuffer(size);
        try {
            for (int i = 0; i < values.size(); i++) {
                Value v = values.get(i);
                if (i > 0) {
                    text.writeBytes(Wire.CRLF); // ends the previous data block
                }
                text.writeBytes(VALUE_SP).writeBytes(v.key()).writeByte(Wire.SP);
                Decimal.write(text, Integer.toUnsignedLong(v.flags()));
                text.writeByte(Wire.SP);
                Decimal.write(text, v.data().readableBytes());
                if (v.hasCas()) {
                    text.writeByte(Wire.SP);
                    Decimal.write(text, v.casUnique());
                }
                text.writeBytes(Wire.CRLF);
                ByteBuf data = v.data();
                if (data.readableBytes() <= Wire.INLINE_DATA_MAX) {
                    text.writeBytes(data, data.readerIndex(), data.readableBytes());
                } else {
                    out.add(text.readRetainedSlice(text.readableBytes()));
                    out.add(data.retainedDuplicate());
                }
            }
            if (!values.isEmpty()) {
                text.writeBytes(Wire.CRLF);
            }
            text.writeBytes(Wire.END_CRLF);
            out.add(text.retain());
        } finally {
            text.release();
        }
    }

    private static void encodeStats(ChannelHandlerContext ctx, StatsReply reply, List<Object> out) {
        // STAT <name> <value>\r\n ... END\r\n
        int size = Wire.END_CRLF.length;
        for (Stat stat : reply.stats()) {
            requireOneLine(stat.name());
            requireOneLine(stat.value());
            if (stat.name().isEmpty() || stat.name().indexOf(' ') >= 0) {
                throw new EncoderException("a stat name must be one word: '" + stat.name() + "'");
            }
            size += STAT_SP.length + ByteBufUtil.utf8Bytes(stat.name()) + 1 + ByteBufUtil.utf8Bytes(stat.value()) + 2;
        }
        ByteBuf buf = ctx.alloc().ioBuffer(size);
        for (Stat stat : reply.stats()) {
            buf.writeBytes(STAT_SP);
            ByteBufUtil.writeUtf8(buf, stat.name());
            buf.writeByte(Wire.SP);
            ByteBufUtil.writeUtf8(buf, stat.value());
            buf.writeBytes(Wire.CRLF);
        }
        out.add(buf.writeBytes(Wire.END_CRLF));
    }

    private static void encodeMeta(ChannelHandlerContext ctx, MetaReply meta, List<Object> out) {
        // VA <size> <flags>*\r\n<data block>\r\n  |  HD|EN|NF|NS|EX|MN <flags>*\r\n  |  ME <key> <k>=<v>*\r\n
        boolean hasData = meta.code().equals("VA");
        if (meta.code().length() != 2 || !Wire.oneLine(meta.code()) || meta.code().indexOf(' ') >= 0) {
            throw new EncoderException("not a meta reply code: '" + meta.code() + "'");
        }
        if (hasData != (meta.data() != null)) {
            throw new EncoderException(hasData ? "VA without data" : meta.code() + " with data");
        }
        int size = 2 + 2 + (hasData ? 1 + Decimal.length(meta.data().readableBytes()) + 2 : 0);
        for (String flag : meta.flags()) {
            // a CR inside a returned key is memcached's own byte (lines end at LF): only LF and space would
            // break the framing
            if (flag.isEmpty() || flag.indexOf(' ') >= 0 || flag.indexOf('\n') >= 0) {
                throw new EncoderException("a meta flag must be one word: '" + flag.replace("\n", "\\n") + "'");
            }
            size += 1 + flag.length();
        }
        ByteBuf text = ctx.alloc().ioBuffer(size);
        try {
            ByteBufUtil.writeAscii(text, meta.code());
            if (hasData) {
                text.writeByte(Wire.SP);
                Decimal.write(text, meta.data().readableBytes());
            }
            for (String flag : meta.flags()) {
                text.writeByte(Wire.SP);
                // the reply decoder reads flags (and me's key) as ISO-8859-1, one char per byte: a key
                // returned by k may hold any byte, so they are written back the same way, not as UTF-8
                text.writeCharSequence(flag, StandardCharsets.ISO_8859_1);
            }
            text.writeBytes(Wire.CRLF);
            if (hasData) {
                out.add(text.readRetainedSlice(text.readableBytes()));
                if (meta.data().isReadable()) {
                    out.add(meta.data().retainedDuplicate());
                }
                text.writeBytes(Wire.CRLF);
            }
            out.add(text.retain());
        } finally {
            text.release();
        }
    }

    private static void requireOneLine(String s) {
        if (!Wire.oneLine(s)) {
            throw new EncoderException("a CR or LF would end the line early: '" + s.replace("\r", "\\r")
                    .replace("\n", "\\n") + "'");
        }
    }
}
