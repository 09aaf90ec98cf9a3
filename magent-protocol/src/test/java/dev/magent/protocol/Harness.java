package dev.magent.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/** Test plumbing: feeds bytes through codecs and describes what comes out as comparable text. */
final class Harness {
    private Harness() {
    }

    /** A pooled buffer holding the string's bytes, one byte per char: tracked by the leak detector. */
    static ByteBuf bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        return PooledByteBufAllocator.DEFAULT.heapBuffer(b.length).writeBytes(b);
    }

    /**
     * An unpooled buffer holding the string's bytes, for tests that check its reference count after release
     * (a released pooled buffer may already be someone else's); Netty 4.2 does not leak-track these.
     */
    static ByteBuf unpooled(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    static String text(ByteBuf b) {
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    static byte[] k(String key) {
        return key.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Feeds the pieces in order to a fresh decoder; describes and releases every output. */
    static List<String> decode(Supplier<? extends ChannelHandler> decoder, String... pieces) {
        EmbeddedChannel ch = new EmbeddedChannel(decoder.get());
        List<String> out = new ArrayList<>();
        for (String piece : pieces) {
            ch.writeInbound(bytes(piece));
            drain(ch, out);
        }
        ch.finish();
        drain(ch, out);
        assertFalse(ch.finishAndReleaseAll(), "left behind");
        return out;
    }

    static void drain(EmbeddedChannel ch, List<String> out) {
        Object o;
        while ((o = ch.readInbound()) != null) {
            out.add(describe(o));
            ReferenceCountUtil.release(o);
        }
    }

    /** Writes the messages through a fresh encoder; returns the bytes written, all outbound buffers released. */
    static String encode(ChannelHandler encoder, Object... messages) {
        EmbeddedChannel ch = new EmbeddedChannel(encoder);
        for (Object m : messages) {
            ch.writeOutbound(m);
        }
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(text(b));
            b.release();
        }
        assertFalse(ch.finishAndReleaseAll(), "left behind");
        return sb.toString();
    }

    static String s(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** A short, complete description of a command, reply or protocol error. */
    static String describe(Object o) {
        if (o instanceof RetrievalCommand r) {
            return r.verb() + (r.verb() == Verb.GAT || r.verb() == Verb.GATS ? " exp=" + r.exptime() : "") + " "
                    + r.keys().stream().map(Harness::s).collect(Collectors.joining(","));
        } else if (o instanceof StorageCommand c) {
            return c.verb() + " " + s(c.key()) + " flags=" + Integer.toUnsignedString(c.flags()) + " exp="
                    + c.exptime() + (c.verb() == Verb.CAS ? " cas=" + Long.toUnsignedString(c.casUnique()) : "")
                    + (c.noreply() ? " noreply" : "") + " [" + text(c.value()) + "]";
        } else if (o instanceof ArithmeticCommand a) {
            return a.verb() + " " + s(a.key()) + " " + Long.toUnsignedString(a.delta()) + (a.noreply() ? " noreply" : "");
        } else if (o instanceof DeleteCommand d) {
            return "DELETE " + s(d.key()) + (d.noreply() ? " noreply" : "");
        } else if (o instanceof TouchCommand t) {
            return "TOUCH " + s(t.key()) + " " + t.exptime() + (t.noreply() ? " noreply" : "");
        } else if (o instanceof FlushAllCommand f) {
            return "FLUSH_ALL" + (f.delay() != FlushAllCommand.NO_DELAY ? " " + f.delay() : "")
                    + (f.noreply() ? " noreply" : "");
        } else if (o instanceof StatsCommand st) {
            return "STATS" + (st.arguments().isEmpty() ? "" : " <" + st.arguments() + ">");
        } else if (o instanceof VerbosityCommand v) {
            return "VERBOSITY " + v.level() + (v.noreply() ? " noreply" : "");
        } else if (o instanceof VersionCommand) {
            return "VERSION";
        } else if (o instanceof QuitCommand) {
            return "QUIT";
        } else if (o instanceof MetaGetCommand m) {
            return "MG " + s(m.key()) + " " + m.flags();
        } else if (o instanceof MetaCommand m) {
            return m.verb() + (m.key().length == 0 ? "" : " " + s(m.key()))
                    + (m.routingKey() != m.key() ? "=<" + s(m.routingKey()) + ">" : "") + " " + m.flags()
                    + (m.value() == null ? "" : " [" + text(m.value()) + "]");
        } else if (o instanceof AdminCommand a) {
            return "ADMIN " + a.arguments();
        } else if (o instanceof ServerCommand sc) {
            return sc.verb() + " " + sc.arguments() + (sc.noreply() ? " noreply" : "");
        } else if (o instanceof TextReply t) {
            return "TEXT " + t.text().replace("\r\n", "|");
        } else if (o instanceof ProtocolError e) {
            return "ERR<" + line(e.reply()) + ">" + (e.closeConnection() ? " close" : "") + (e.silent() ? " silent" : "");
        } else if (o instanceof ErrorReply e) {
            return "reply " + line(e);
        } else if (o instanceof StatusReply st) {
            return st.name();
        } else if (o instanceof ValuesReply v) {
            return "VALUES" + v.values().stream().map(x -> " " + s(x.key()) + "/" + Integer.toUnsignedString(x.flags())
                    + (x.hasCas() ? "/cas=" + Long.toUnsignedString(x.casUnique()) : "") + "=[" + text(x.data()) + "]")
                    .collect(Collectors.joining());
        } else if (o instanceof StatsReply st) {
            return "STATS" + st.stats().stream().map(x -> " " + x.name() + "=<" + x.value() + ">").collect(Collectors.joining());
        } else if (o instanceof NumberReply n) {
            return "NUMBER " + Long.toUnsignedString(n.value());
        } else if (o instanceof VersionReply v) {
            return "VERSION " + v.version();
        } else if (o instanceof MetaReply m) {
            return "META " + m.code() + " " + m.flags() + (m.data() == null ? "" : " [" + text(m.data()) + "]");
        }
        throw new AssertionError("not a command, reply or protocol error: " + o);
    }

    private static String line(ErrorReply e) {
        return e.kind() + (e.message().isEmpty() ? "" : " " + e.message());
    }

    /** Escapes CR and LF for readable test names. */
    static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n");
    }
}
