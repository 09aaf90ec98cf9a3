package dev.magent.hashing;

import java.util.List;

/**
 * C magent 0.6's default placement, so that magent users keep their key placement: the DJB hash
 * ({@code h = 5381; h = h * 33 + b} for each key byte taken as a signed char, in unsigned 32-bit
 * arithmetic), masked to 31 bits, modulo the number of servers in the order given. Weights are ignored.
 */
public final class ModuloRing implements Ring {
    private final List<Server> servers;

    ModuloRing(List<Server> servers) {
        this.servers = Ring.checked(servers);
    }

    /** magent's DJB hash of a key region, masked to 31 bits. */
    public static int hash(byte[] key, int offset, int length) {
        int h = 5381;
        for (int i = offset; i < offset + length; i++) {
            h = h * 33 + key[i]; // Java bytes are signed, like magent's char: the same sum modulo 2^32
        }
        return h & 0x7FFFFFFF;
    }

    @Override
    public List<Server> servers() {
        return servers;
    }

    @Override
    public int indexFor(byte[] key, int offset, int length) {
        return hash(key, offset, length) % servers.size();
    }

    @Override
    public int[] indicesFor(byte[] key, int copies) {
        int n = Math.min(Math.max(copies, 0), servers.size());
        int[] out = new int[n];
        int first = indexFor(key);
        for (int i = 0; i < n; i++) {
            out[i] = (first + i) % servers.size();
        }
        return out;
    }
}
