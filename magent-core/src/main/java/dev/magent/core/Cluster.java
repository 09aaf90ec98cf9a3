package dev.magent.core;

import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import java.util.ArrayList;
import java.util.List;

/**
 * The servers and where keys live: a ring over the mains and, when there are backups, a ring over the
 * backups with the same algorithm. Immutable.
 */
final class Cluster {
    private final BackendServer[] mains;
    private final BackendServer[] backups;
    private final BackendServer[] all;
    private final Ring mainRing;
    private final Ring backupRing;

    Cluster(ProxyConfig config) {
        this(config, null);
    }

    /**
     * A cluster for a new configuration; servers also in {@code previous}, in the same role, keep their
     * state, hints and counters (whatever their weight now).
     */
    Cluster(ProxyConfig config, Cluster previous) {
        List<ServerAddress> mainAddresses = config.mains();
        List<ServerAddress> backupAddresses = config.backups();
        int failureThreshold = config.failureThreshold();
        int hintCapacity = config.hintCapacity();
        Algorithm algorithm = config.ketama() ? Algorithm.KETAMA : Algorithm.MODULO;
        mains = new BackendServer[mainAddresses.size()];
        backups = new BackendServer[backupAddresses.size()];
        all = new BackendServer[mains.length + backups.length];
        for (int i = 0; i < mains.length; i++) {
            mains[i] = new BackendServer(i, i, Role.MAIN, mainAddresses.get(i),
                    config.weightOf(mainAddresses.get(i)), failureThreshold,
                    health(previous, Role.MAIN, mainAddresses.get(i), hintCapacity));
            all[i] = mains[i];
        }
        for (int i = 0; i < backups.length; i++) {
            backups[i] = new BackendServer(mains.length + i, i, Role.BACKUP, backupAddresses.get(i),
                    config.weightOf(backupAddresses.get(i)), failureThreshold, health(previous, Role.BACKUP, backupAddresses.get(i), hintCapacity));
            all[mains.length + i] = backups[i];
        }
        mainRing = Ring.of(algorithm, servers(mainAddresses, config));
        backupRing = backups.length == 0 ? null : Ring.of(algorithm, servers(backupAddresses, config));
    }

    private static BackendServer.Health health(Cluster previous, Role role, ServerAddress address, int hintCapacity) {
        if (previous != null) {
            for (BackendServer s : previous.all) {
                if (s.role() == role && s.address().equals(address)) {
                    return s.health();
                }
            }
        }
        return new BackendServer.Health(hintCapacity);
    }

    /** Whether this server carries over from {@code previous} (same role and address). */
    boolean carriedOver(BackendServer server, Cluster previous) {
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

    BackendServer mainFor(byte[] key) {
        return mains[mainRing.indexFor(key)];
    }

    /** The key's backup, or {@code null} when the cluster has none. */
    BackendServer backupFor(byte[] key) {
        return backupRing == null ? null : backups[backupRing.indexFor(key)];
    }

    boolean hasBackups() {
        return backupRing != null;
    }

    /** Mains then backups, indexed by {@link BackendServer#id()}. */
    BackendServer[] all() {
        return all.clone();
    }

    int size() {
        return all.length;
    }

    BackendServer server(int id) {
        return all[id];
    }

    /** The server at this address; IllegalArgumentException naming it if there is none. */
    BackendServer find(ServerAddress address) {
        for (BackendServer s : all) {
            if (s.address().equals(address)) {
                return s;
            }
        }
        throw new IllegalArgumentException("not a server of this proxy: " + address);
    }

    List<BackendServer> mains() {
        return List.of(mains);
    }

    List<BackendServer> backups() {
        return List.of(backups);
    }
}
