package dev.magent.hashing;

import java.util.List;

/**
 * Where keys live: an immutable map from key bytes to one of an ordered list of servers. Thread-safe;
 * lookups do not allocate.
 */
public sealed interface Ring permits ModuloRing, KetamaRing {

    /**
     * Builds a ring.
     *
     * @param algorithm how to place keys
     * @param servers   the servers in order (the order decides placement for modulo); not empty, no duplicates
     * @throws IllegalArgumentException for an empty list or a server listed twice
     */
    static Ring of(Algorithm algorithm, List<Server> servers) {
        return switch (algorithm) {
            case MODULO -> new ModuloRing(servers);
            case KETAMA -> KetamaRing.of(servers);
        };
    }

    /** The servers, in the order given. */
    List<Server> servers();

    /** The index in {@link #servers()} of the server for a key. */
    default int indexFor(byte[] key) {
        return indexFor(key, 0, key.length);
    }

    /** The index of the server for the key in {@code key[offset, offset+length)}. */
    int indexFor(byte[] key, int offset, int length);

    /** The server for a key. */
    default Server serverFor(byte[] key) {
        return servers().get(indexFor(key));
    }

    /**
     * Up to {@code copies} distinct server indices for a key, the first being {@link #indexFor(byte[])}: where
     * its copies go. Fewer when the ring has fewer servers.
     */
    int[] indicesFor(byte[] key, int copies);

    /** Checks a server list; shared by the implementations. */
    static List<Server> checked(List<Server> servers) {
        if (servers == null || servers.isEmpty()) {
            throw new IllegalArgumentException("a ring needs at least one server");
        }
        List<Server> copy = List.copyOf(servers);
        for (int i = 0; i < copy.size(); i++) {
            for (int j = i + 1; j < copy.size(); j++) {
                if (copy.get(i).host().equals(copy.get(j).host()) && copy.get(i).port() == copy.get(j).port()) {
                    throw new IllegalArgumentException("server listed twice: " + copy.get(i).name());
                }
            }
        }
        return copy;
    }
}
