/**
 * The memcached text (ASCII) protocol as Netty codecs, for both directions a proxy needs, and the server side
 * of the binary protocol.
 *
 * <p>The model is protocol-neutral: {@link dev.magent.protocol.Command} and
 * {@link dev.magent.protocol.Reply} are what a server or proxy core sees, whatever wire format carried
 * them. The text codecs here map bytes to and from that model:
 * <ul>
 *   <li>{@link dev.magent.protocol.MemcacheServerCodec}: request bytes to commands, replies to bytes;</li>
 *   <li>{@link dev.magent.protocol.MemcacheClientCodec}: commands to bytes, reply bytes to replies.</li>
 * </ul>
 * A meta-protocol or binary codec is another pair of decoder and encoder over the same model: per-request
 * wire details such as meta opaque tokens only shape the bytes of the reply, so such a codec keeps them
 * in its own in-order queue and the core never sees them. {@link dev.magent.protocol.BinaryProtocolTranslator}
 * does so for the binary protocol, behind Netty's
 * {@link io.netty.handler.codec.memcache.binary.BinaryMemcacheServerCodec}.
 *
 * <p>Values travel as {@link io.netty.buffer.ByteBuf} slices of the received bytes, never copied;
 * messages holding one implement {@link io.netty.util.ReferenceCounted} and whoever receives them
 * releases them.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
package dev.magent.protocol;
