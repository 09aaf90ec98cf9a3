package dev.magent.hashing;

import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

/**
 * Weighted ketama consistent hashing, placing keys as libmemcached (with
 * {@code MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED}), spymemcached's {@code KetamaNodeLocator} and twemproxy's
 * ketama do:
 * <ul>
 *   <li>when all weights are equal every server gets 160 points, as in spymemcached; otherwise a server of
 *       weight w among n servers of total weight W gets {@code floor(w/W * 160/4 * n + 1e-10) * 4} points,
 *       in libmemcached's and twemproxy's float arithmetic. (That float formula gives 156 rather than 160
 *       points with equal weights for some server counts, e.g. 25 and 100: there libmemcached's weighted
 *       mode and twemproxy differ from spymemcached, and we follow spymemcached.)</li>
 *   <li>point group i of a server is {@code MD5("host:port-i")}, each digest giving 4 points: bytes
 *       4k..4k+3 read little-endian;</li>
 *   <li>a key hashes to the first 4 bytes of {@code MD5(key)}, little-endian, and goes to the first point
 *       at or after its hash, wrapping around;</li>
 *   <li>two servers with the same point: the later server in the list owns it (spymemcached's TreeMap
 *       keeps the last insertion).</li>
 * </ul>
 * Unsigned 32-bit points are stored sign-flipped so that plain int comparison orders them.
 */
public final class KetamaRing implements Ring {
    /** How point names are formed from a server. */
    public enum PointNaming {
        /** {@code host:port-N} always: spymemcached's default and twemproxy's (servers named host:port). */
        HOST_PORT,
        /** libmemcached: {@code host-N} when the port is memcached's default 11211, else {@code host:port-N}. */
        LIBMEMCACHED
    }

    private static final int POINTS_PER_UNIT = 160;
    private static final ThreadLocal<Md5> MD5 = ThreadLocal.withInitial(Md5::new);

    private final List<Server> servers;
    private final int[] points;  // sign-flipped, ascending
    private final int[] owners;  // server index per point

    private KetamaRing(List<Server> servers, int[] points, int[] owners) {
        this.servers = servers;
        this.points = points;
        this.owners = owners;
    }

    /** A ring with {@link PointNaming#HOST_PORT} point names. */
    public static KetamaRing of(List<Server> servers) {
        return of(servers, PointNaming.HOST_PORT);
    }

    /** A ring with the given point naming. */
    public static KetamaRing of(List<Server> servers, PointNaming naming) {
        List<Server> list = Ring.checked(servers);
        int n = list.size();
        long totalWeight = 0;
        for (Server s : list) {
            totalWeight += s.weight();
        }
        boolean equalWeights = list.stream().allMatch(s -> s.weight() == list.get(0).weight());
        int[] counts = new int[n];
        int total = 0;
        for (int i = 0; i < n; i++) {
            counts[i] = equalWeights ? POINTS_PER_UNIT : pointsFor(list.get(i).weight(), totalWeight, n);
            total += counts[i];
        }
        long[] entries = new long[total]; // (flipped point << 32) | insertion order, sorted
        int[] ownerByOrder = new int[total];
        int order = 0;
        Md5 md5 = MD5.get();
        byte[] digest = new byte[16];
        for (int i = 0; i < n; i++) {
            Server s = list.get(i);
            for (int group = 0; group < counts[i] / 4; group++) {
                md5.digest(pointName(s, group, naming), digest);
                for (int k = 0; k < 4; k++) {
                    int point = littleEndian(digest, k * 4);
                    entries[order] = ((long) (point ^ Integer.MIN_VALUE) << 32) | order;
                    ownerByOrder[order] = i;
                    order++;
                }
            }
        }
        Arrays.sort(entries);
        int[] points = new int[total];
        int[] owners = new int[total];
        int m = 0;
        for (int j = 0; j < total; j++) {
            int point = (int) (entries[j] >> 32);
            int owner = ownerByOrder[(int) entries[j]];
            if (m > 0 && points[m - 1] == point) {
                owners[m - 1] = owner; // sorted by insertion order within a point: the last one wins
            } else {
                points[m] = point;
                owners[m] = owner;
                m++;
            }
        }
        return new KetamaRing(list, Arrays.copyOf(points, m), Arrays.copyOf(owners, m));
    }

    /** libmemcached's and twemproxy's points for a weight, in their float arithmetic. */
    static int pointsFor(int weight, long totalWeight, int serverCount) {
        float pct = (float) weight / (float) totalWeight;
        float perHash = (float) ((double) (pct * POINTS_PER_UNIT / 4 * (float) serverCount) + 0.0000000001);
        return (int) Math.floor(perHash) * 4;
    }

    static byte[] pointName(Server s, int group, PointNaming naming) {
        String base = naming == PointNaming.LIBMEMCACHED && s.port() == 11211 ? s.host() : s.name();
        return (base + "-" + group).getBytes(StandardCharsets.UTF_8);
    }

    private static int littleEndian(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    /** The ketama hash of a key region: the first 4 bytes of its MD5, little-endian, as unsigned. */
    public static long hash(byte[] key, int offset, int length) {
        return MD5.get().hash(key, offset, length) & 0xFFFFFFFFL;
    }

    @Override
    public List<Server> servers() {
        return servers;
    }

    /** Points on the ring per server index (for checking weights). */
    int[] pointCounts() {
        int[] counts = new int[servers.size()];
        for (int o : owners) {
            counts[o]++;
        }
        return counts;
    }

    @Override
    public int indexFor(byte[] key, int offset, int length) {
        return owners[slot(MD5.get().hash(key, offset, length))];
    }

    /** The position of the first point at or after a hash, wrapping. */
    private int slot(int hash) {
        int flipped = hash ^ Integer.MIN_VALUE;
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (points[mid] < flipped) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == points.length ? 0 : lo;
    }

    @Override
    public int[] indicesFor(byte[] key, int copies) {
        int n = Math.min(Math.max(copies, 0), servers.size());
        int[] out = new int[n];
        if (n == 0) {
            return out;
        }
        int at = slot(MD5.get().hash(key, 0, key.length));
        int found = 0;
        for (int step = 0; step < points.length && found < n; step++) {
            int owner = owners[(at + step) % points.length];
            boolean seen = false;
            for (int j = 0; j < found; j++) {
                if (out[j] == owner) {
                    seen = true;
                    break;
                }
            }
            if (!seen) {
                out[found++] = owner;
            }
        }
        return found == n ? out : Arrays.copyOf(out, found);
    }

    /** A per-thread MD5 with a reusable output buffer, so lookups do not allocate. */
    private static final class Md5 {
        private final MessageDigest md;
        private final byte[] out = new byte[16];

        Md5() {
            try {
                md = MessageDigest.getInstance("MD5");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK must provide MD5", e);
            }
        }

        int hash(byte[] key, int offset, int length) {
            md.update(key, offset, length);
            finish(out);
            return littleEndian(out, 0);
        }

        void digest(byte[] input, byte[] into) {
            md.update(input);
            finish(into);
        }

        private void finish(byte[] into) {
            try {
                md.digest(into, 0, 16);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
