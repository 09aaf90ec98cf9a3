package dev.magent.hashing;

/** How a ring places keys on servers. */
public enum Algorithm {
    /** C magent 0.6's default: DJB hash of the key modulo the number of servers. */
    MODULO,
    /** libmemcached-compatible weighted ketama consistent hashing (MD5, 160 points per unit weight). */
    KETAMA
}
