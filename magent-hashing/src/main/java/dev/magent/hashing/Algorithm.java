package dev.magent.hashing;

/** How a {@link Ring} places keys on servers. */
public enum Algorithm {
    /**
     * C magent 0.6's default: the DJB hash of the key modulo the number of servers ({@link ModuloRing}).
     * Adding or removing a server moves most keys.
     */
    MODULO,
    /**
     * Weighted ketama consistent hashing as spymemcached, libmemcached and twemproxy build it: MD5, 160
     * points per server of average weight ({@link KetamaRing}). Adding or removing a server moves about
     * 1/n of the keys. Not C magent 0.6's own {@code -k} ring.
     */
    KETAMA
}
