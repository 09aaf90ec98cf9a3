package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Client side: {@link Command}s to bytes. The command line goes into one pooled buffer, with a small value
 * (up to 1 KiB) copied in, so that a typical command is one buffer; a larger value is forwarded as a retained
 * duplicate of its buffer, never copied. Either way the command's own buffer is not consumed, so the same
 * command can be written to several servers. The encoder releases the command it
 * consumes: retain a command before writing it to more than one channel.
 *
 * <p>A command that cannot be framed safely (an empty key, a key with a space or control character in a
 * command that has no meta equivalent, a CR or LF in stats arguments or meta flags) fails the write with an
 * {@link EncoderException} before any byte is written, so it can never smuggle a second command to the
 * server. A key the text protocol cannot carry (one a meta client wrote in base64) is sent base64-encoded in
 * the equivalent meta command where there is one: {@code mg}, a storage command ({@code ms}, answered
 * HD/NS/EX/NF) and {@code delete} ({@code md}, answered HD/NF).
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class CommandEncoder extends MessageToMessageEncoder<Command> {
    private static final byte[][] VERB_SP = new byte[Verb.values().length][];
    private static final byte[] VERSION_LINE = Wire.ascii("version\r\n");
    private static final byte[] QUIT_LINE = Wire.ascii("quit\r\n");
    private static final byte[] MN_LINE = Wire.ascii("mn\r\n");
    private static final List<String> B = List.of("b");
    private static final List<String> B_Q = List.of("b", "q");

    static {
        for (Verb verb : Verb.values()) {
            VERB_SP[verb.ordinal()] = (verb.wireName() + " ").getBytes(StandardCharsets.US_ASCII);
        }
    }

    /** An encoder for every {@link Command}. */
    public CommandEncoder() {
        super(Command.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Command msg, List<Object> out) {
        if (msg instanceof RetrievalCommand get) {
            encodeRetrieval(ctx, get, out);
        } else if (msg instanceof StorageCommand store) {
            if (needsBase64(store.key())) {
                encodeMeta(ctx, asMeta(store), out);
            } else {
                encodeStorage(ctx, store, out);
            }
        } else if (msg instanceof ArithmeticCommand arithmetic) {
            // incr|decr <key> <value> [noreply]\r\n
            byte[] key = requireKey(arithmetic.key());
            ByteBuf buf = line(ctx, arithmetic.verb(), key.length + 1 + Decimal.length(arithmetic.delta()),
                    arithmetic.noreply());
            buf.writeBytes(key).writeByte(Wire.SP);
            Decimal.write(buf, arithmetic.delta());
            out.add(end(buf, arithmetic.noreply()));
        } else if (msg instanceof DeleteCommand delete && needsBase64(delete.key())) {
            // md <base64 key> b [q]\r\n: memcached answers HD or NF
            encodeMeta(ctx, new MetaCommand(Verb.MD, base64(delete.key()), delete.key(),
                    delete.noreply() ? B_Q : B, null), out);
        } else if (msg instanceof DeleteCommand delete) {
            // delete <key> [noreply]\r\n
            byte[] key = requireKey(delete.key());
            ByteBuf buf = line(ctx, Verb.DELETE, key.length, delete.noreply());
            out.add(end(buf.writeBytes(key), delete.noreply()));
        } else if (msg instanceof TouchCommand touch) {
            // touch <key> <exptime> [noreply]\r\n
            byte[] key = requireKey(touch.key());
            ByteBuf buf = line(ctx, Verb.TOUCH, key.length + 1 + signedLength(touch.exptime()), touch.noreply());
            buf.writeBytes(key).writeByte(Wire.SP);
            writeSigned(buf, touch.exptime());
            out.add(end(buf, touch.noreply()));
        } else if (msg instanceof FlushAllCommand flush) {
            // flush_all [delay] [noreply]\r\n
            boolean hasDelay = flush.delay() != FlushAllCommand.NO_DELAY;
            ByteBuf buf = line(ctx, Verb.FLUSH_ALL, hasDelay ? Decimal.length(flush.delay()) : 0, flush.noreply());
            if (hasDelay) {
                Decimal.write(buf, flush.delay());
            } else {
                buf.writerIndex(buf.writerIndex() - 1); // no argument: drop the space after the verb
            }
            out.add(end(buf, flush.noreply()));
        } else if (msg instanceof VerbosityCommand verbosity) {
            // verbosity <level> [noreply]\r\n
            ByteBuf buf = line(ctx, Verb.VERBOSITY, signedLength(verbosity.level()), verbosity.noreply());
            writeSigned(buf, verbosity.level());
            out.add(end(buf, verbosity.noreply()));
        } else if (msg instanceof StatsCommand stats) {
            // stats [args]\r\n
            String args = stats.arguments();
            if (!Wire.oneLine(args)) {
                throw new EncoderException("stats arguments with a CR or LF");
            }
            ByteBuf buf = line(ctx, Verb.STATS, ByteBufUtil.utf8Bytes(args), false);
            if (args.isEmpty()) {
                buf.writerIndex(buf.writerIndex() - 1);
            } else {
                ByteBufUtil.writeUtf8(buf, args);
            }
            out.add(end(buf, false));
        } else if (msg instanceof VersionCommand) {
            // version\r\n
            out.add(ctx.alloc().ioBuffer(VERSION_LINE.length).writeBytes(VERSION_LINE));
        } else if (msg instanceof QuitCommand) {
            // quit\r\n
            out.add(ctx.alloc().ioBuffer(QUIT_LINE.length).writeBytes(QUIT_LINE));
        } else if (msg instanceof MetaGetCommand mg && needsBase64(mg.key())) {
            // mg <base64 key> b <flag>*\r\n: the same reply as for the key itself
            List<String> flags = new ArrayList<>(mg.flags().size() + 1);
            flags.add("b");
            flags.addAll(mg.flags());
            encodeMeta(ctx, new MetaCommand(Verb.MG, base64(mg.key()), mg.key(), flags, null), out);
        } else if (msg instanceof MetaGetCommand mg) {
            encodeMetaGet(ctx, mg, out);
        } else if (msg instanceof ServerCommand server) {
            // <verb> <word>*\r\n, the words as the client sent them (ISO-8859-1: every byte survives)
            String args = String.join(" ", server.arguments());
            ByteBuf buf = line(ctx, server.verb(), args.length(), false);
            if (args.isEmpty()) {
                buf.writerIndex(buf.writerIndex() - 1);
            } else {
                buf.writeCharSequence(args, StandardCharsets.ISO_8859_1);
            }
            out.add(end(buf, false)); // a noreply is one of the words
        } else if (msg instanceof MetaCommand meta) {
            encodeMeta(ctx, meta, out);
        } else if (msg instanceof AdminCommand) {
            throw new EncoderException("an AdminCommand is the proxy's own, never sent to memcached");
        } else {
            throw new EncoderException("unknown command type: " + msg.getClass().getName());
        }
    }

    private static void encodeRetrieval(ChannelHandlerContext ctx, RetrievalCommand get, List<Object> out) {
        // get|gets <key>*\r\n  |  gat|gats <exptime> <key>*\r\n
        boolean touch = get.verb() == Verb.GAT || get.verb() == Verb.GATS;
        int size = touch ? signedLength(get.exptime()) : -1;
        List<byte[]> keys = get.keys();
        for (int i = 0; i < keys.size(); i++) {
            size += 1 + requireKey(keys.get(i)).length;
        }
        ByteBuf buf = line(ctx, get.verb(), size, false);
        if (touch) {
            writeSigned(buf, get.exptime());
        }
        for (int i = 0; i < keys.size(); i++) {
            if (touch || i > 0) {
                buf.writeByte(Wire.SP);
            }
            buf.writeBytes(keys.get(i));
        }
        out.add(end(buf, false));
    }

    private static void encodeStorage(ChannelHandlerContext ctx, StorageCommand store, List<Object> out) {
        // <command name> <key> <flags> <exptime> <bytes> [noreply]\r\n<data block>\r\n
        // cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]\r\n<data block>\r\n
        byte[] key = requireKey(store.key());
        long flags = Integer.toUnsignedLong(store.flags());
        int length = store.value().readableBytes();
        boolean cas = store.verb() == Verb.CAS;
        int size = key.length + 1 + Decimal.length(flags) + 1 + signedLength(store.exptime()) + 1
                + Decimal.length(length) + (cas ? 1 + Decimal.length(store.casUnique()) : 0);
        boolean inline = length <= Wire.INLINE_DATA_MAX;
        // + the data when it is copied in, + the CRLF after the data
        ByteBuf text = line(ctx, store.verb(), size + (inline ? length : 0) + 2, store.noreply());
        try {
            text.writeBytes(key).writeByte(Wire.SP);
            Decimal.write(text, flags);
            text.writeByte(Wire.SP);
            writeSigned(text, store.exptime());
            text.writeByte(Wire.SP);
            Decimal.write(text, length);
            if (cas) {
                text.writeByte(Wire.SP);
                Decimal.write(text, store.casUnique());
            }
            end(text, store.noreply());
            ByteBuf data = store.value();
            if (inline) {
                text.writeBytes(data, data.readerIndex(), length);
            } else {
                out.add(text.readRetainedSlice(text.readableBytes()));
                out.add(data.retainedDuplicate());
            }
            out.add(text.writeBytes(Wire.CRLF).retain());
        } finally {
            text.release();
        }
    }

    private static void encodeMetaGet(ChannelHandlerContext ctx, MetaGetCommand mg, List<Object> out) {
        // mg <key> <flag>*\r\n
        byte[] key = requireKey(mg.key());
        int size = key.length;
        for (String flag : mg.flags()) {
            if (flag.isEmpty() || !Wire.oneLine(flag) || flag.indexOf(' ') >= 0) {
                throw new EncoderException("a meta flag must be one word: '" + flag + "'");
            }
            size += 1 + ByteBufUtil.utf8Bytes(flag);
        }
        ByteBuf buf = line(ctx, Verb.MG, size, false).writeBytes(key);
        for (String flag : mg.flags()) {
            buf.writeByte(Wire.SP);
            ByteBufUtil.writeUtf8(buf, flag);
        }
        out.add(end(buf, false));
    }

    private static void encodeMeta(ChannelHandlerContext ctx, MetaCommand meta, List<Object> out) {
        // mn\r\n  |  mg|md|ma|me <key> <flag>*\r\n  |  ms <key> <datalen> <flag>*\r\n<data block>\r\n
        if (meta.verb() == Verb.MN) {
            out.add(ctx.alloc().ioBuffer(MN_LINE.length).writeBytes(MN_LINE));
            return;
        }
        byte[] key = meta.key();
        if (key.length == 0 || !oneToken(key)) {
            throw new EncoderException("a meta key must be one non-empty token without NUL");
        }
        ByteBuf data = meta.value();
        int length = data == null ? 0 : data.readableBytes();
        boolean inline = length <= Wire.INLINE_DATA_MAX;
        int size = key.length + (data == null ? 0 : 1 + Decimal.length(length) + 2 + (inline ? length : 0));
        for (String flag : meta.flags()) {
            // a CR inside a token is part of it for memcached, as it was for the decoder: only LF, space and
            // NUL (which ends memcached's line) could change how memcached splits what is forwarded
            if (flag.isEmpty() || flag.indexOf('\n') >= 0 || flag.indexOf(' ') >= 0 || flag.indexOf('\0') >= 0) {
                throw new EncoderException("a meta flag must be one word: '" + flag + "'");
            }
            size += 1 + flag.length();
        }
        ByteBuf text = line(ctx, meta.verb(), size, false);
        try {
            text.writeBytes(key);
            if (data != null) {
                text.writeByte(Wire.SP);
                Decimal.write(text, length);
            }
            for (String flag : meta.flags()) {
                text.writeByte(Wire.SP);
                // flags are read as ISO-8859-1, one char per byte: written back the same way
                text.writeCharSequence(flag, StandardCharsets.ISO_8859_1);
            }
            end(text, false);
            if (data != null) {
                if (inline) {
                    text.writeBytes(data, data.readerIndex(), length);
                } else {
                    out.add(text.readRetainedSlice(text.readableBytes()));
                    out.add(data.retainedDuplicate());
                }
                text.writeBytes(Wire.CRLF);
            }
            out.add(text.retain());
        } finally {
            text.release();
        }
    }

    /**
     * Whether a key can be written as one token: memcached splits on spaces, ends lines at LF and reads them
     * as C strings (a NUL ends them); a CR inside a token is part of it.
     */
    private static boolean oneToken(byte[] key) {
        for (byte b : key) {
            if (b == Wire.SP || b == Wire.LF || b == 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a key is one the text protocol cannot carry but memcached holds: one written by a meta client
     * under base64 ({@code b}), holding a byte a text line cannot (a space, a line end, a NUL, ...). The
     * proxy's own reads, copies and deletes of such a key (read-repair, a resync, a hint replay) go as the
     * equivalent meta command with the key in base64.
     */
    private static boolean needsBase64(byte[] key) {
        return key.length > 0 && !Wire.validKey(key, Integer.MAX_VALUE);
    }

    private static byte[] base64(byte[] key) {
        return Base64.getEncoder().encode(key);
    }

    /**
     * A storage command as {@code ms <base64 key> <len> b F<flags> T<exptime> M<mode> [C<cas>] [q]}: the same
     * effect, answered with meta codes (HD for STORED, NS for NOT_STORED, EX, NF).
     */
    private static MetaCommand asMeta(StorageCommand store) {
        List<String> flags = new ArrayList<>(6);
        flags.add("b");
        flags.add("F" + Integer.toUnsignedString(store.flags()));
        flags.add("T" + store.exptime());
        flags.add(switch (store.verb()) {
            case ADD -> "ME";
            case REPLACE -> "MR";
            case APPEND -> "MA";
            case PREPEND -> "MP";
            default -> "MS";
        });
        if (store.verb() == Verb.CAS) {
            flags.add("C" + Long.toUnsignedString(store.casUnique()));
        }
        if (store.noreply()) {
            flags.add("q");
        }
        return new MetaCommand(Verb.MS, base64(store.key()), store.key(), flags, store.value());
    }

    /** A buffer for a line of {@code argumentsLength} bytes of arguments, holding "<verb> " already. */
    private static ByteBuf line(ChannelHandlerContext ctx, Verb verb, int argumentsLength, boolean noreply) {
        byte[] verbSp = VERB_SP[verb.ordinal()];
        int size = verbSp.length + argumentsLength + (noreply ? Wire.SP_NOREPLY.length : 0) + 2;
        return ctx.alloc().ioBuffer(size).writeBytes(verbSp);
    }

    /** Ends a line: " noreply" if asked, then CRLF. */
    private static ByteBuf end(ByteBuf buf, boolean noreply) {
        if (noreply) {
            buf.writeBytes(Wire.SP_NOREPLY);
        }
        return buf.writeBytes(Wire.CRLF);
    }

    private static byte[] requireKey(byte[] key) {
        if (!Wire.validKey(key, Integer.MAX_VALUE)) {
            throw new EncoderException("a key must be non-empty, without a space, LF or NUL: '"
                    + Keys.toString(key).replace("\r", "\\r").replace("\n", "\\n") + "'");
        }
        return key;
    }

    private static int signedLength(long value) {
        return value < 0 ? 1 + Decimal.length(-value) : Decimal.length(value);
    }

    private static void writeSigned(ByteBuf buf, long value) {
        if (value < 0) {
            buf.writeByte('-');
            Decimal.write(buf, -value);
        } else {
            Decimal.write(buf, value);
        }
    }
}
