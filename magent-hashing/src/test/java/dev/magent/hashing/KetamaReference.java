package dev.magent.hashing;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A plain ketama written from libmemcached's {@code update_continuum} and spymemcached's
 * {@code KetamaNodeLocator}, sharing no code with {@link KetamaRing}: a TreeMap of unsigned points, a fresh
 * MessageDigest per hash, no sign tricks. Tests check KetamaRing against it.
 */
final class KetamaReference {
    /** Which server keeps a point two servers share. */
    enum Tie {
        /** spymemcached: TreeMap.put in list order, the last put stays. */
        LAST_IN_LIST,
        /** libmemcached: equal points sorted by server index, the lookup takes the first. */
        FIRST_IN_LIST,
        /** twemproxy: servers sorted by name (length, then bytes) on loading, then as libmemcached. */
        FIRST_BY_NAME
    }

    final TreeMap<Long, Integer> points = new TreeMap<>();
    final int[] pointsPerServer;

    /**
     * @param libmemcachedNames names {@code host-g} at port 11211 (libmemcached), else always {@code host:port-g}
     * @param formulaAlways     the weighted formula even when weights are equal (libmemcached, twemproxy)
     */
    KetamaReference(List<Server> servers, boolean libmemcachedNames, boolean formulaAlways, Tie tie) {
        int n = servers.size();
        long totalWeight = servers.stream().mapToLong(Server::weight).sum();
        boolean equal = servers.stream().allMatch(s -> s.weight() == servers.get(0).weight());
        pointsPerServer = new int[n];
        List<Integer> insertion = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pointsPerServer[i] = equal && !formulaAlways ? 160 : formula(servers.get(i).weight(), totalWeight, n);
            insertion.add(i);
        }
        if (tie == Tie.FIRST_BY_NAME) {
            insertion.sort(Comparator.<Integer>comparingInt(i -> name(servers.get(i), libmemcachedNames).length())
                    .thenComparing(i -> name(servers.get(i), libmemcachedNames)));
        }
        for (int i : insertion) {
            Server s = servers.get(i);
            for (int g = 0; g < pointsPerServer[i] / 4; g++) {
                byte[] d = md5((name(s, libmemcachedNames) + "-" + g).getBytes(StandardCharsets.US_ASCII));
                for (int h = 0; h < 4; h++) {
                    long point = ((long) (d[3 + h * 4] & 0xFF) << 24) | ((long) (d[2 + h * 4] & 0xFF) << 16)
                            | ((long) (d[1 + h * 4] & 0xFF) << 8) | (d[h * 4] & 0xFF);
                    if (tie == Tie.LAST_IN_LIST) {
                        points.put(point, i);
                    } else {
                        points.putIfAbsent(point, i);
                    }
                }
            }
        }
    }

    /** libmemcached's pointer_per_server for weighted ketama, in C's float arithmetic. */
    static int formula(int weight, long totalWeight, int serverCount) {
        float pct = (float) weight / (float) totalWeight;
        return (int) Math.floor((float) (pct * 160 / 4 * (float) serverCount + 0.0000000001)) * 4;
    }

    private static String name(Server s, boolean libmemcachedNames) {
        return libmemcachedNames && s.port() == 11211 ? s.host() : s.host() + ":" + s.port();
    }

    static long hash(byte[] key) {
        byte[] d = md5(key);
        return ((long) (d[3] & 0xFF) << 24) | ((d[2] & 0xFF) << 16) | ((d[1] & 0xFF) << 8) | (d[0] & 0xFF);
    }

    int locate(byte[] key) {
        Map.Entry<Long, Integer> e = points.ceilingEntry(hash(key));
        return (e == null ? points.firstEntry() : e).getValue();
    }

    private static byte[] md5(byte[] input) {
        try {
            return MessageDigest.getInstance("MD5").digest(input);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
