package dev.magent.protocol;

/**
 * A server's answer to one {@link Command}, independent of the wire format.
 *
 * <p>Replies holding values ({@link ValuesReply}, {@link MetaReply}) are
 * {@link io.netty.util.ReferenceCounted}; the receiver releases them.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public sealed interface Reply
        permits StatusReply, ValuesReply, NumberReply, VersionReply, StatsReply, ErrorReply, MetaReply,
        TextReply {
}
