package dev.magent.protocol;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Server side: {@link Reply}s to bytes; value data is forwarded as retained buffers, not copied.
 * STUB: to be implemented.
 */
public final class ReplyEncoder extends MessageToMessageEncoder<Reply> {
    public ReplyEncoder() {
        super(Reply.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Reply msg, List<Object> out) {
        throw new UnsupportedOperationException("not yet implemented");
    }
}
