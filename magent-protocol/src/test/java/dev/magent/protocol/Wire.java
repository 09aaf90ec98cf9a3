package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Test helpers: feed bytes through codecs and describe what comes out as comparable text. */
final class Wire {
    private Wire() {
    }

    static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    /** Decodes the pieces in order through a fresh decoder; describes and releases every output. */
    static List<String> decode(ChannelHandler decoder, String... pieces) {
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        List<String> out = new ArrayList<>();
        for (String piece : pieces) {
            ch.writeInbound(bytes(piece));
            Object o;
            while ((o = ch.readInbound()) != null) {
                out.add(describe(o));
                ReferenceCountUtil.release(o);
            }
        }
        ch.finishAndReleaseAll();
        return out;
    }

    /** Encodes the messages through a fresh encoder and returns the bytes written. */
    static String encode(ChannelHandler encoder, Object... messages) {
        EmbeddedChannel ch = new EmbeddedChannel(encoder);
        for (Object m : messages) {
            ch.writeOutbound(m);
        }
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        ch.finishAndReleaseAll();
        return sb.toString();
    }

    static String s(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static String describe(Object o) {
        if (o instanceof RetrievalCommand r) {
            return r.verb() + (r.exptime() != 0 ? " exp=" + r.exptime() : "") + " "
                    + r.keys().stream().map(Wire::s).collect(Collectors.joining(","));
        } else if (o instanceof StorageCommand c) {
            return c.verb() + " " + s(c.key()) + " flags=" + Integer.toUnsignedString(c.flags()) + " exp=" + c.exptime()
                    + (c.verb() == Verb.CAS ? " cas=" + Long.toUnsignedString(c.casUnique()) : "")
                    + (c.noreply() ? " noreply" : "") + " [" + c.value().toString(StandardCharsets.ISO_8859_1) + "]";
        } else if (o instanceof ArithmeticCommand a) {
            return a.verb() + " " + s(a.key()) + " " + Long.toUnsignedString(a.delta()) + (a.noreply() ? " noreply" : "");
        } else if (o instanceof DeleteCommand d) {
            return "DELETE " + s(d.key()) + (d.noreply() ? " noreply" : "");
        } else if (o instanceof TouchCommand t) {
            return "TOUCH " + s(t.key()) + " " + t.exptime() + (t.noreply() ? " noreply" : "");
        } else if (o instanceof FlushAllCommand f) {
            return "FLUSH_ALL" + (f.delay() != FlushAllCommand.NO_DELAY ? " " + f.delay() : "") + (f.noreply() ? " noreply" : "");
        } else if (o instanceof StatsCommand st) {
            return "STATS" + (st.arguments().isEmpty() ? "" : " " + st.arguments());
        } else if (o instanceof VerbosityCommand v) {
            return "VERBOSITY " + v.level() + (v.noreply() ? " noreply" : "");
        } else if (o instanceof VersionCommand) {
            return "VERSION";
        } else if (o instanceof QuitCommand) {
            return "QUIT";
        } else if (o instanceof ProtocolError e) {
            return "ERROR<" + e.reply().kind() + (e.reply().message().isEmpty() ? "" : " " + e.reply().message()) + ">"
                    + (e.closeConnection() ? " close" : "");
        } else if (o instanceof ValuesReply v) {
            return "VALUES" + v.values().stream().map(x -> " " + s(x.key()) + "/" + Integer.toUnsignedString(x.flags())
                    + (x.hasCas() ? "/cas" + Long.toUnsignedString(x.casUnique()) : "") + "=" + x.data().toString(StandardCharsets.ISO_8859_1))
                    .collect(Collectors.joining());
        } else if (o instanceof StatsReply st) {
            return "STATS" + st.stats().stream().map(x -> " " + x.name() + "=" + x.value()).collect(Collectors.joining());
        } else if (o instanceof MetaReply m) {
            return "META " + m.code() + " " + m.flags() + (m.data() == null ? "" : " [" + m.data().toString(StandardCharsets.ISO_8859_1) + "]");
        }
        return String.valueOf(o);
    }
}
