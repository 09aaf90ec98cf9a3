package dev.magent.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A meta session recorded from memcached 1.6.18 ({@code golden/meta-*-1.6.18.bin}: the requests as sent in one
 * write, the replies as memcached sent them): what a proxy decodes and forwards must be the client's bytes, and
 * what it decodes from memcached and writes back must be memcached's bytes.
 */
class MetaGoldenTest {
    private static byte[] resource(String name) throws IOException {
        try (InputStream in = MetaGoldenTest.class.getResourceAsStream("/golden/" + name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void requestsAreForwardedByteForByte() throws IOException {
        byte[] requests = resource("meta-requests-1.6.18.bin");
        EmbeddedChannel server = new EmbeddedChannel(new CommandDecoder());
        server.writeInbound(Unpooled.wrappedBuffer(requests));
        List<Object> decoded = new ArrayList<>();
        Object o;
        while ((o = server.readInbound()) != null) {
            decoded.add(o);
        }
        assertFalse(server.finish());
        assertEquals(32, decoded.size());
        // "mg gk v x" is answered by the proxy as memcached answers it; everything else goes to memcached
        ProtocolError invalid = assertInstanceOf(ProtocolError.class, decoded.remove(27));
        assertEquals(ErrorReply.client("invalid flag"), invalid.reply());
        EmbeddedChannel client = new EmbeddedChannel(new CommandEncoder());
        for (Object c : decoded) {
            client.writeOutbound(c);
        }
        String forwarded = drain(client);
        String sent = new String(requests, StandardCharsets.ISO_8859_1).replace("mg gk v x\r\n", "");
        assertEquals(sent, forwarded);
    }

    @Test
    void repliesAreWrittenBackByteForByte() throws IOException {
        byte[] replies = resource("meta-replies-1.6.18.bin");
        EmbeddedChannel fromMemcached = new EmbeddedChannel(new ReplyDecoder());
        // byte by byte: memcached's replies arrive in any split
        for (byte b : replies) {
            fromMemcached.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        EmbeddedChannel toClient = new EmbeddedChannel(new ReplyEncoder());
        int count = 0;
        Object o;
        while ((o = fromMemcached.readInbound()) != null) {
            assertInstanceOf(Reply.class, o);
            toClient.writeOutbound(o);
            count++;
        }
        assertFalse(fromMemcached.finish());
        assertEquals(32, count);
        assertEquals(new String(replies, StandardCharsets.ISO_8859_1), drain(toClient));
    }

    private static String drain(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            out.writeBytes(bytes);
            ReferenceCountUtil.release(b);
        }
        assertFalse(ch.finishAndReleaseAll());
        return out.toString(StandardCharsets.ISO_8859_1);
    }
}
