package dev.magent.protocol;

import io.netty.channel.CombinedChannelDuplexHandler;

/**
 * The server side of the text protocol in one handler: {@link CommandDecoder} plus {@link ReplyEncoder}.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public final class MemcacheServerCodec extends CombinedChannelDuplexHandler<CommandDecoder, ReplyEncoder> {
    /** With memcached's limits. */
    public MemcacheServerCodec() {
        this(ProtocolLimits.DEFAULT);
    }

    /** With the given limits. */
    public MemcacheServerCodec(ProtocolLimits limits) {
        super(new CommandDecoder(limits), new ReplyEncoder());
    }
}
