package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Client side: reply bytes to {@link Reply}s; a reply that cannot be parsed yields a {@link ProtocolError}
 * with {@code closeConnection} set, since the stream can no longer be matched to requests.
 * STUB: to be implemented.
 */
public final class ReplyDecoder extends ByteToMessageDecoder {
    private final ProtocolLimits limits;

    public ReplyDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    public ReplyDecoder(ProtocolLimits limits) {
        this.limits = limits;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        throw new UnsupportedOperationException("not yet implemented");
    }
}
