/**
 * Key-to-server rings for memcached clusters, with no dependency beyond the JDK.
 *
 * <p>{@link dev.magent.hashing.Ring#of} builds an immutable ring from an ordered list of
 * {@link dev.magent.hashing.Server}s: {@link dev.magent.hashing.Algorithm#MODULO} places keys as C magent
 * 0.6 does by default, {@link dev.magent.hashing.Algorithm#KETAMA} as spymemcached's
 * {@code KetamaNodeLocator} does; {@link dev.magent.hashing.KetamaRing#of(java.util.List,
 * dev.magent.hashing.KetamaRing.PointNaming, dev.magent.hashing.KetamaRing.PointRules)} gives libmemcached's
 * and twemproxy's exact rings. Rings are rebuilt, never changed, when the server list changes. The formulas
 * and the compatibility each ring is tested for are in {@code docs/hashing.md}.
 *
 * @see <a href="https://github.com/RJ/ketama">libketama, where the ketama ring comes from</a>
 */
package dev.magent.hashing;
