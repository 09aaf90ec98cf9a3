package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Server side: request bytes to {@link Command}s, and {@link ProtocolError}s for bad input, in stream order.
 * STUB: to be implemented.
 */
public final class CommandDecoder extends ByteToMessageDecoder {
    private final ProtocolLimits limits;

    /** A decoder with memcached's limits. */
    public CommandDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    /** A decoder with the given limits. */
    public CommandDecoder(ProtocolLimits limits) {
        this.limits = limits;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        throw new UnsupportedOperationException("not yet implemented");
    }
}
