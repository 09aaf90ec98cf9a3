package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Client side: decodes the reply to {@code lru_crawler metadump <classes|all|hash>} into
 * {@link MetadumpEntry} messages, then {@link #END} when the dump is complete. Anything else memcached
 * answers (e.g. {@code BUSY currently processing crawler request}, {@code ERROR}) becomes a
 * {@link ProtocolError} carrying the line, and the decoder then discards further input.
 *
 * <p>Seen on memcached 1.6.18: item lines end with a bare {@code \n} and only the final {@code END} has
 * {@code \r\n}; keys are percent-encoded; {@code exp=-1} means no expiry, otherwise an absolute unix time.
 * Both line endings are accepted here.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class MetadumpDecoder extends ByteToMessageDecoder {
    /** Emitted once after the last entry. */
    public static final Object END = new Object() {
        @Override
        public String toString() {
            return "MetadumpDecoder.END";
        }
    };

    private static final int MAX_LINE = 8192;
    private boolean failed;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!failed && in.isReadable()) {
            int eol = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            if (eol < 0) {
                if (in.readableBytes() > MAX_LINE) {
                    fail(out, "metadump line longer than " + MAX_LINE + " bytes");
                }
                return;
            }
            int end = eol;
            if (end > in.readerIndex() && in.getByte(end - 1) == '\r') {
                end--;
            }
            String line = in.toString(in.readerIndex(), end - in.readerIndex(), StandardCharsets.US_ASCII);
            in.readerIndex(eol + 1);
            if (line.equals("END")) {
                out.add(END);
            } else if (line.startsWith("key=")) {
                MetadumpEntry entry = parse(line);
                if (entry == null) {
                    fail(out, "unparsable metadump line: " + line);
                } else {
                    out.add(entry);
                }
            } else if (!line.isEmpty()) {
                fail(out, line);
            }
        }
        if (failed) {
            in.skipBytes(in.readableBytes());
        }
    }

    private void fail(List<Object> out, String message) {
        failed = true;
        out.add(new ProtocolError(ErrorReply.server(message.replace('\r', ' ')), true));
    }

    /** Parses one item line; null if it is malformed. */
    static MetadumpEntry parse(String line) {
        byte[] key = null;
        long exp = -1;
        int size = -1;
        for (String field : line.split(" ")) {
            int eq = field.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String name = field.substring(0, eq);
            String value = field.substring(eq + 1);
            try {
                switch (name) {
                    case "key" -> key = percentDecode(value);
                    case "exp" -> exp = Long.parseLong(value);
                    case "size" -> size = Integer.parseInt(value);
                    default -> {
                        // la, cas, fetch, cls and later additions are not needed to copy an item
                    }
                }
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return key == null || key.length == 0 ? null : new MetadumpEntry(key, exp, size);
    }

    /** Decodes %XX escapes to bytes; rejects a truncated or non-hex escape. */
    static byte[] percentDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    throw new IllegalArgumentException("truncated escape in " + s);
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("bad escape in " + s);
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toByteArray();
    }
}
