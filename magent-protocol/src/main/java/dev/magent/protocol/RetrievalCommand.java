package dev.magent.protocol;

import java.util.List;
import java.util.Objects;

/**
 * {@code get|gets <key>*}, {@code gat|gats <exptime> <key>*}: fetch one or more items.
 *
 * @param verb    one of {@link Verb#GET}, {@link Verb#GETS}, {@link Verb#GAT}, {@link Verb#GATS}
 * @param keys    the keys in the client's order, at least one; the list is not copied, do not change it
 * @param exptime the new expiry for gat/gats (memcached's exptime: seconds, or unix time when large); 0 for get/gets
 */
public record RetrievalCommand(Verb verb, List<byte[]> keys, long exptime) implements Command {
    public RetrievalCommand {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(keys, "keys");
        if (!verb.isRetrieval()) {
            throw new IllegalArgumentException("not a retrieval verb: " + verb);
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("a retrieval needs at least one key");
        }
    }

    /** A {@code get} of the given keys. */
    public static RetrievalCommand get(byte[]... keys) {
        return new RetrievalCommand(Verb.GET, List.of(keys), 0);
    }

    /** A {@code gets} of the given keys. */
    public static RetrievalCommand gets(byte[]... keys) {
        return new RetrievalCommand(Verb.GETS, List.of(keys), 0);
    }
}
