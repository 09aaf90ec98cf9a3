package dev.magent.protocol;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Client side: {@link Command}s to bytes; value data is forwarded as retained buffers, not copied.
 * STUB: to be implemented.
 */
public final class CommandEncoder extends MessageToMessageEncoder<Command> {
    public CommandEncoder() {
        super(Command.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Command msg, List<Object> out) {
        throw new UnsupportedOperationException("not yet implemented");
    }
}
