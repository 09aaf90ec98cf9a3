package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * One item of a {@link ValuesReply}: {@code VALUE <key> <flags> <bytes> [<cas unique>]} and its data.
 *
 * @param key       the key
 * @param flags     the client flags, unsigned 32-bit held in an int
 * @param data      the data block without its CRLF; owned by the enclosing reply
 * @param casUnique the cas unique, or {@link #NO_CAS} when the reply line carried none (get, gat). The
 *                  one unique this cannot carry is 2^64-1, which is the sentinel (memcached's uniques count
 *                  up from 1 and never get there)
 */
public record Value(byte[] key, int flags, ByteBuf data, long casUnique) {
    /** Marks a value without a cas unique. */
    public static final long NO_CAS = -1;

    public Value {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(data, "data");
    }

    /** Whether this value carries a cas unique. */
    public boolean hasCas() {
        return casUnique != NO_CAS;
    }
}
