package dev.magent.hashing;

import java.util.List;
import java.util.Objects;

/**
 * C magent 0.6's default placement (servers given with {@code -s}, no {@code -k}), so that users moving
 * from it find their keys where they left them:
 * <pre>
 * h = 5381
 * for each key byte b, taken as a signed char:  h = h * 33 + b    (unsigned 32-bit arithmetic)
 * server = (h &amp; 0x7FFFFFFF) % (number of servers), in the order given
 * </pre>
 * Weights are ignored: every server gets an equal share. The copies of a key go to the servers after its
 * own, in list order, wrapping around.
 */
public final class ModuloRing implements Ring {
    private final List<Server> servers;
    private final int size;

    private ModuloRing(List<Server> servers) {
        this.servers = servers;
        this.size = servers.size();
    }

    /**
     * Builds a modulo ring.
     *
     * @param servers the servers in order; not empty, no host:port twice; weights are ignored
     * @return the ring
     * @throws IllegalArgumentException for an empty list or a server listed twice
     */
    public static ModuloRing of(List<Server> servers) {
        return new ModuloRing(ServerList.validated(servers));
    }

    /**
     * magent's DJB hash of a key region, masked to 31 bits.
     *
     * @param key    an array holding the key
     * @param offset where the key starts
     * @param length how many bytes it has
     * @return the hash, in {@code [0, 2^31)}
     * @throws IndexOutOfBoundsException if the region is not inside the array
     */
    public static int hash(byte[] key, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, key.length);
        int h = 5381;
        for (int i = offset, end = offset + length; i < end; i++) {
            // Java bytes are signed like magent's char, and int arithmetic wraps like its unsigned int
            h = h * 33 + key[i];
        }
        return h & 0x7FFFFFFF;
    }

    @Override
    public List<Server> servers() {
        return servers;
    }

    @Override
    public int indexFor(byte[] key, int offset, int length) {
        return hash(key, offset, length) % size;
    }

    /**
     * {@inheritDoc} With modulo these are {@code i, i+1, i+2, ...} modulo the number of servers, where
     * {@code i} is {@link #indexFor(byte[], int, int)}.
     */
    @Override
    public int[] indicesFor(byte[] key, int offset, int length, int copies) {
        ServerList.checkCopies(copies);
        int first = indexFor(key, offset, length);
        int[] out = new int[Math.min(copies, size)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (first + i) % size;
        }
        return out;
    }

    @Override
    public String toString() {
        return "ModuloRing" + servers;
    }
}
