package dev.magent.core.backend;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import java.util.ArrayList;
import java.util.List;

/**
 * The servers and where keys live: pool 0 holds the mains, pools 1, 2, ... the backup pools, each a ring
 * of its own with the same algorithm, so a key has one copy in each pool: its <em>copies</em>, in pool
 * order (the main first). Immutable.
 */
public final class Cluster {
    private final BackendServer[][] pools;
    private final Ring[] rings;
    private final BackendServer[] all;
    /** Mutable, shared by every loop and carried over by a reload, as each server's health is. */
    private final WriteFences fences;

    public Cluster(ProxyConfig config) {
        this(config, null);
    }

    /**
     * A cluster for a new configuration; servers also in {@code previous}, in the same pool, keep their
     * state, hints and counters (whatever their weight now).
     */
    public Cluster(ProxyConfig config, Cluster previous) {
        List<List<ServerAddress>> addresses = config.pools();
        int failureThreshold = config.failureThreshold();
        int hintCapacity = config.hintCapacity();
        Algorithm algorithm = config.ketama() ? Algorithm.KETAMA : Algorithm.MODULO;
        pools = new BackendServer[addresses.size()][];
        rings = new Ring[addresses.size()];
        List<BackendServer> every = new ArrayList<>();
        for (int p = 0; p < pools.length; p++) {
            List<ServerAddress> poolAddresses = addresses.get(p);
            pools[p] = new BackendServer[poolAddresses.size()];
            for (int i = 0; i < poolAddresses.size(); i++) {
                ServerAddress a = poolAddresses.get(i);
                pools[p][i] = new BackendServer(every.size(), p, i, a, config.weightOf(a), failureThreshold,
                        health(previous, p, a, hintCapacity));
                every.add(pools[p][i]);
            }
            rings[p] = Ring.of(algorithm, servers(poolAddresses, config));
        }
        all = every.toArray(new BackendServer[0]);
        fences = previous != null ? previous.fences : new WriteFences();
    }

    /** The write and flush epochs that repairs and resync copies check (see {@link WriteFences}). */
    public WriteFences fences() {
        return fences;
    }

    private static BackendServer.Health health(Cluster previous, int pool, ServerAddress address, int hintCapacity) {
        if (previous != null) {
            for (BackendServer s : previous.all) {
                if (s.pool() == pool && s.address().equals(address)) {
                    return s.health();
                }
            }
        }
        return new BackendServer.Health(hintCapacity);
    }

    /** Whether this server carries over from {@code previous} (same pool and address). */
    public boolean carriedOver(BackendServer server, Cluster previous) {
        for (BackendServer s : previous.all) {
            if (s.health() == server.health()) {
                return true;
            }
        }
        return false;
    }

    private static List<Server> servers(List<ServerAddress> addresses, ProxyConfig config) {
        List<Server> list = new ArrayList<>(addresses.size());
        for (ServerAddress a : addresses) {
            list.add(new Server(a.host(), a.port(), config.weightOf(a)));
        }
        return list;
    }

    /** How many copies every key has: the main and one per backup pool. */
    public int copies() {
        return pools.length;
    }

    /** The key's copy in pool {@code pool} (0: its main). */
    public BackendServer copy(int pool, byte[] key) {
        return pools[pool][rings[pool].indexFor(key)];
    }

    public BackendServer mainFor(byte[] key) {
        return copy(0, key);
    }

    /** The key's copy in the first backup pool, or {@code null} when the cluster has none. */
    public BackendServer backupFor(byte[] key) {
        return pools.length < 2 ? null : copy(1, key);
    }

    public boolean hasBackups() {
        return pools.length > 1;
    }

    /** Every pool's servers then the next pool's, indexed by {@link BackendServer#id()}. */
    public BackendServer[] all() {
        return all.clone();
    }

    public int size() {
        return all.length;
    }

    public BackendServer server(int id) {
        return all[id];
    }

    /** The server at this address; IllegalArgumentException naming it if there is none. */
    public BackendServer find(ServerAddress address) {
        for (BackendServer s : all) {
            if (s.address().equals(address)) {
                return s;
            }
        }
        throw new IllegalArgumentException("not a server of this proxy: " + address);
    }

    /** The servers of one pool (0: the mains). */
    public List<BackendServer> pool(int pool) {
        return List.of(pools[pool]);
    }

    public List<BackendServer> mains() {
        return pool(0);
    }

    /** The servers of every backup pool, pool after pool. */
    List<BackendServer> backups() {
        List<BackendServer> out = new ArrayList<>();
        for (int p = 1; p < pools.length; p++) {
            out.addAll(List.of(pools[p]));
        }
        return out;
    }
}
