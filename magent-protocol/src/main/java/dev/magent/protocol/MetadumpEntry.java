package dev.magent.protocol;

import java.util.Objects;

/**
 * One item listed by memcached's {@code lru_crawler metadump}: a line such as
 * {@code key=we%25ird%2Fkey exp=-1 la=1700000000 cas=7 fetch=no cls=1 size=63}.
 *
 * @param key     the key, percent-decoded back to its raw bytes
 * @param expires absolute unix time of expiry, or -1 for never
 * @param size    the item's total size in memcached's slab, or -1 when not listed
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt, "lru_crawler metadump"</a>
 */
public record MetadumpEntry(byte[] key, long expires, int size) {
    public MetadumpEntry {
        Objects.requireNonNull(key, "key");
    }
}
