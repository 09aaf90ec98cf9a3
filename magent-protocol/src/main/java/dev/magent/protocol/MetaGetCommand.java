package dev.magent.protocol;

import java.util.List;
import java.util.Objects;

/**
 * {@code mg <key> <flag>*}: meta get, memcached 1.6. Encoded by the client codec so that a proxy can read
 * an item's value together with its client flags and remaining TTL ({@code mg <key> v f t}); the server
 * codec does not decode it yet.
 *
 * @param key   the key
 * @param flags the meta flags as written, e.g. {@code List.of("v", "f", "t")}
 */
public record MetaGetCommand(byte[] key, List<String> flags) implements Command {
    public MetaGetCommand {
        Objects.requireNonNull(key, "key");
        flags = List.copyOf(flags);
    }

    @Override
    public Verb verb() {
        return Verb.MG;
    }
}
