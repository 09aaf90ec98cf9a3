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

    /**
     * With the given limits, also decoding the proxy's own {@link AdminCommand}s.
     *
     * @param limits      key, line and value limits
     * @param adminPrefix the first word of an administrative command, e.g. {@code "magent"}; null for none
     * @see CommandDecoder#CommandDecoder(ProtocolLimits, String)
     */
    public MemcacheServerCodec(ProtocolLimits limits, String adminPrefix) {
        super(new CommandDecoder(limits, adminPrefix), new ReplyEncoder());
    }
}
