package dev.magent.core.frontend;

import dev.magent.protocol.BinaryProtocolTranslator;
import dev.magent.protocol.MemcacheServerCodec;
import dev.magent.protocol.ProtocolLimits;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.memcache.binary.BinaryMemcacheServerCodec;
import java.util.List;

/**
 * Picks a client connection's protocol from its first byte, as memcached does on a port serving both:
 * {@link BinaryProtocolTranslator#REQUEST_MAGIC} means binary, anything else text. Puts that protocol's
 * codec in its place and leaves; the bytes read so far go on to the codec.
 */
public final class ProtocolSniffer extends ByteToMessageDecoder {
    private final ProtocolLimits limits;
    private final String adminPrefix;

    public ProtocolSniffer(ProtocolLimits limits, String adminPrefix) {
        this.limits = limits;
        this.adminPrefix = adminPrefix;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        ChannelPipeline pipeline = ctx.pipeline();
        if (in.getByte(in.readerIndex()) == BinaryProtocolTranslator.REQUEST_MAGIC) {
            pipeline.addAfter(ctx.name(), "codec", new BinaryMemcacheServerCodec());
            pipeline.addAfter("codec", "binary", new BinaryProtocolTranslator(limits));
        } else {
            pipeline.addAfter(ctx.name(), "codec", new MemcacheServerCodec(limits, adminPrefix));
        }
        // ByteToMessageDecoder hands what it holds to the next handler, the codec, as it is removed
        pipeline.remove(this);
    }
}
