package dev.magent.protocol;

import io.netty.channel.CombinedChannelDuplexHandler;

/**
 * The client side of the text protocol in one handler: {@link ReplyDecoder} plus {@link CommandEncoder}.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class MemcacheClientCodec extends CombinedChannelDuplexHandler<ReplyDecoder, CommandEncoder> {
    /** With memcached's limits. */
    public MemcacheClientCodec() {
        this(ProtocolLimits.DEFAULT);
    }

    /** With the given limits. */
    public MemcacheClientCodec(ProtocolLimits limits) {
        super(new ReplyDecoder(limits), new CommandEncoder());
    }
}
