package dev.magent.hashing;

import java.util.List;

/**
 * Where keys live: an immutable map from a key's bytes to one server of an ordered list. Build a new ring
 * when the list changes; rings are safe to share between threads, and {@link #indexFor(byte[], int, int)}
 * allocates nothing.
 *
 * <p>Placement depends only on the key's bytes, never on Java {@code char}s: the caller hands over the
 * bytes the client sent. The formulas and which clients place keys the same way are in
 * {@code docs/hashing.md}.
 */
public sealed interface Ring permits ModuloRing, KetamaRing {

    /**
     * Builds a ring: {@link ModuloRing#of(List)} or {@link KetamaRing#of(List)} (host:port point names,
     * spymemcached's point rules).
     *
     * @param algorithm how to place keys
     * @param servers   the servers in order (the order decides modulo placement and ketama's tie rule); not
     *                  empty, no host:port twice
     * @return the ring
     * @throws IllegalArgumentException for an empty list or a server listed twice
     */
    static Ring of(Algorithm algorithm, List<Server> servers) {
        return switch (algorithm) {
            case MODULO -> ModuloRing.of(servers);
            case KETAMA -> KetamaRing.of(servers);
        };
    }

    /**
     * The servers, in the order given; the indices returned by this ring point into this list.
     *
     * @return an immutable list
     */
    List<Server> servers();

    /**
     * The index in {@link #servers()} of the server for a key.
     *
     * @param key the key's bytes
     * @return an index in {@code [0, servers().size())}
     */
    default int indexFor(byte[] key) {
        return indexFor(key, 0, key.length);
    }

    /**
     * The index in {@link #servers()} of the server for the key in {@code key[offset, offset + length)}. Reads
     * the region in place and allocates nothing.
     *
     * @param key    an array holding the key
     * @param offset where the key starts
     * @param length how many bytes it has
     * @return an index in {@code [0, servers().size())}
     * @throws IndexOutOfBoundsException if the region is not inside the array
     */
    int indexFor(byte[] key, int offset, int length);

    /**
     * The server for a key.
     *
     * @param key the key's bytes
     * @return {@code servers().get(indexFor(key))}
     */
    default Server serverFor(byte[] key) {
        return servers().get(indexFor(key));
    }

    /**
     * Where the copies of a key go: up to {@code copies} distinct indices into {@link #servers()}, the first
     * being {@link #indexFor(byte[])}. Exactly {@code min(copies, servers().size())} of them.
     *
     * @param key    the key's bytes
     * @param copies how many servers are wanted, at least 0
     * @return a new array of distinct indices
     * @throws IllegalArgumentException if {@code copies} is negative
     */
    default int[] indicesFor(byte[] key, int copies) {
        return indicesFor(key, 0, key.length, copies);
    }

    /**
     * {@link #indicesFor(byte[], int)} for the key in {@code key[offset, offset + length)}.
     *
     * @param key    an array holding the key
     * @param offset where the key starts
     * @param length how many bytes it has
     * @param copies how many servers are wanted, at least 0
     * @return a new array of {@code min(copies, servers().size())} distinct indices, the first being
     *         {@link #indexFor(byte[], int, int)}
     * @throws IllegalArgumentException  if {@code copies} is negative
     * @throws IndexOutOfBoundsException if the region is not inside the array
     */
    int[] indicesFor(byte[] key, int offset, int length, int copies);
}
