package dev.magent.core.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.magent.protocol.BinaryProtocolTranslator;
import dev.magent.protocol.MemcacheServerCodec;
import dev.magent.protocol.ProtocolLimits;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.VersionCommand;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.memcache.binary.BinaryMemcacheServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The first byte picks the codec; the bytes read before the choice reach it, however they were split. */
class ProtocolSnifferTest {
    private static EmbeddedChannel channel() {
        return new EmbeddedChannel(new ProtocolSniffer(ProtocolLimits.DEFAULT, "magent"));
    }

    private static ByteBuf bytes(byte[] b) {
        return PooledByteBufAllocator.DEFAULT.heapBuffer(b.length).writeBytes(b);
    }

    /** A binary version request (no key, extras or body). */
    private static byte[] binaryVersion() {
        byte[] r = new byte[24];
        r[0] = BinaryProtocolTranslator.REQUEST_MAGIC;
        r[1] = 0x0b;
        return r;
    }

    @Test
    void aTextConnectionGetsTheTextCodec() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(bytes("get a\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertInstanceOf(MemcacheServerCodec.class, ch.pipeline().get("codec"));
        assertNull(ch.pipeline().get(ProtocolSniffer.class));
        Object command = ch.readInbound();
        assertInstanceOf(RetrievalCommand.class, command);
        ReferenceCountUtil.release(command);
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void aBinaryConnectionGetsTheBinaryCodecEvenWhenTheHeaderComesInPieces() {
        EmbeddedChannel ch = channel();
        byte[] request = binaryVersion();
        ch.writeInbound(bytes(new byte[] {request[0]}));
        assertInstanceOf(BinaryMemcacheServerCodec.class, ch.pipeline().get("codec"));
        assertInstanceOf(BinaryProtocolTranslator.class, ch.pipeline().get("binary"));
        byte[] rest = new byte[request.length - 1];
        System.arraycopy(request, 1, rest, 0, rest.length);
        ch.writeInbound(bytes(rest));
        assertEquals(VersionCommand.INSTANCE, ch.readInbound());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void nothingIsChosenBeforeTheFirstByte() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(PooledByteBufAllocator.DEFAULT.heapBuffer(0));
        assertNull(ch.pipeline().get("codec"));
        assertFalse(ch.finishAndReleaseAll());
    }
}
