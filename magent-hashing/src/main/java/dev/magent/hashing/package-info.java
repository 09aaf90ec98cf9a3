/**
 * Key-to-server rings for memcached clusters, with no dependency beyond the JDK.
 *
 * <p>{@link dev.magent.hashing.Ring#of} builds an immutable ring from an ordered list of
 * {@link dev.magent.hashing.Server}s: {@link dev.magent.hashing.Algorithm#MODULO} places keys as C magent
 * 0.6 does by default, {@link dev.magent.hashing.Algorithm#KETAMA} as libmemcached's weighted ketama,
 * spymemcached's {@code KetamaNodeLocator} and twemproxy's ketama do. Rings are rebuilt, never changed,
 * when the server list changes.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
package dev.magent.hashing;
