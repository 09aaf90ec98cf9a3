package dev.magent.hashing;

import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Weighted ketama consistent hashing, built the way spymemcached's {@code KetamaNodeLocator}, libmemcached's
 * weighted ketama ({@code MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED}) and twemproxy's {@code distribution: ketama}
 * with {@code hash: md5} build it:
 * <ul>
 *   <li>Each server gets a number of points: {@code floor(w/W * 160/4 * n + 1e-10) * 4} for a server of
 *       weight w among n servers of total weight W, in single-precision float as those clients compute it.
 *       With equal weights that is 160, except for some n (25, 50, 100, 200, ...) where float rounding gives
 *       156; {@link PointRules} says whether equal weights give 160 regardless (spymemcached) or follow the
 *       formula (libmemcached, twemproxy).</li>
 *   <li>Point group g of a server (g from 0) is {@code MD5("<name>-<g>")}, where the name comes from
 *       {@link PointNaming}; each 16-byte digest gives 4 points, bytes 4k..4k+3 read little-endian as an
 *       unsigned 32-bit number.</li>
 *   <li>A key hashes to the first 4 bytes of {@code MD5(key)}, little-endian, unsigned. It goes to the server
 *       of the first point at or after its hash, wrapping around to the first point.</li>
 *   <li>When two servers have a point in common, {@link PointRules} says which one keeps it.</li>
 * </ul>
 * The copies of a key ({@link #indicesFor(byte[], int, int, int)}) go to the next distinct servers met
 * walking the ring clockwise from the key's point; a server whose weight is so small that it got no points
 * (possible only with extreme weight ratios) is never a key's first server and comes last among copies.
 *
 * <p>Lookups compute MD5 with a per-thread {@link MessageDigest} and binary-search a sorted {@code int[]}; they
 * allocate nothing. Each thread remembers the positions of the last keys it placed (a few hundred, keys up to
 * 64 bytes): placing the same key again, in this ring or another, skips the MD5.
 */
public final class KetamaRing implements Ring {

    /** How the names hashed into a server's points are formed. */
    public enum PointNaming {
        /**
         * {@code host:port-g} for every port (IPv6 hosts in brackets, as {@link Server#name()}):
         * spymemcached's default naming when servers are given as IP addresses. The default.
         */
        HOST_PORT,
        /**
         * {@code host-g} when the port is memcached's default 11211, {@code host:port-g} otherwise (the host
         * exactly as given, IPv6 without brackets): libmemcached, twemproxy for servers without a name, and
         * spymemcached's {@code KetamaNodeKeyFormatter.Format.LIBMEMCACHED}.
         */
        LIBMEMCACHED
    }

    /**
     * How many points each server gets, and which server keeps a point that two servers share. A shared
     * point is rare (one is expected in a ring of about 600 servers) but decides where the keys hashing just
     * before it go, and each client settles it its own way.
     */
    public enum PointRules {
        /**
         * spymemcached's {@code KetamaNodeLocator}: 160 points per server when all weights are equal (as
         * spymemcached given no weights), the weighted formula otherwise; a shared point belongs to the later
         * server in the list (spymemcached's TreeMap keeps the last put). The default.
         */
        SPYMEMCACHED,
        /**
         * libmemcached's weighted ketama: the weighted formula always, even for equal weights; a shared point
         * belongs to the earlier server in the list (libmemcached sorts equal points by server index and
         * takes the first).
         */
        LIBMEMCACHED,
        /**
         * twemproxy: the weighted formula always; a shared point belongs to the server whose name (the text
         * its point names start with) sorts first, shorter names before longer ones, then byte by byte.
         * twemproxy sorts its servers so when it loads its configuration, and a stable sort keeps that order
         * among equal points.
         */
        TWEMPROXY
    }

    /** Points of a server of average weight: the 160 of libketama, spymemcached and libmemcached. */
    static final int POINTS_PER_SERVER = 160;
    /** Points taken from each MD5 digest of a point name. */
    private static final int POINTS_PER_DIGEST = 4;
    /** memcached's port, left out of point names by {@link PointNaming#LIBMEMCACHED}. */
    private static final int DEFAULT_PORT = 11211;
    // MessageDigest is not thread-safe; one per thread keeps lookups lock-free and allocation-free
    private static final ThreadLocal<Md5> MD5 = ThreadLocal.withInitial(Md5::new);

    private final List<Server> servers;
    private final PointNaming naming;
    private final PointRules rules;
    private final int[] points; // unsigned 32-bit points with the sign bit flipped, so int order is unsigned order
    private final int[] owners; // server index of each point

    private KetamaRing(List<Server> servers, PointNaming naming, PointRules rules, int[] points, int[] owners) {
        this.servers = servers;
        this.naming = naming;
        this.rules = rules;
        this.points = points;
        this.owners = owners;
    }

    /**
     * A ring with {@link PointNaming#HOST_PORT} names and {@link PointRules#SPYMEMCACHED} rules: placement
     * identical to spymemcached's {@code KetamaNodeLocator} with {@code KETAMA_HASH} and servers given as IP
     * addresses.
     *
     * @param servers the servers in order; not empty, no host:port twice
     * @return the ring
     * @throws IllegalArgumentException for an empty list or a server listed twice
     */
    public static KetamaRing of(List<Server> servers) {
        return of(servers, PointNaming.HOST_PORT, PointRules.SPYMEMCACHED);
    }

    /**
     * A ring with the given point names and {@link PointRules#SPYMEMCACHED} rules: spymemcached's ring with
     * either of its key formats. For libmemcached's or twemproxy's ring use
     * {@link #of(List, PointNaming, PointRules)}.
     *
     * @param servers the servers in order; not empty, no host:port twice
     * @param naming  how point names are formed
     * @return the ring
     * @throws IllegalArgumentException for an empty list or a server listed twice
     */
    public static KetamaRing of(List<Server> servers, PointNaming naming) {
        return of(servers, naming, PointRules.SPYMEMCACHED);
    }

    /**
     * A ring with the given point names and rules. {@code of(servers, LIBMEMCACHED, LIBMEMCACHED)} places
     * keys as libmemcached's weighted ketama; {@code of(servers, LIBMEMCACHED, TWEMPROXY)} as twemproxy with
     * {@code hash: md5} and servers without names.
     *
     * @param servers the servers in order; not empty, no host:port twice
     * @param naming  how point names are formed
     * @param rules   how many points each server gets, and who keeps a shared point
     * @return the ring
     * @throws IllegalArgumentException for an empty list or a server listed twice
     */
    public static KetamaRing of(List<Server> servers, PointNaming naming, PointRules rules) {
        List<Server> list = ServerList.validated(servers);
        Objects.requireNonNull(naming, "naming");
        Objects.requireNonNull(rules, "rules");
        int[] counts = pointsPerServer(list, rules);
        int total = Arrays.stream(counts).sum();

        // a shared point goes to the server of lowest rank: sorting (flipped point << 32) | rank puts it first
        int[] byRank = serversByTieRank(list, naming, rules);
        long[] entries = new long[total];
        int e = 0;
        Md5 md5 = MD5.get();
        byte[] digest = new byte[16];
        for (int rank = 0; rank < byRank.length; rank++) {
            Server s = list.get(byRank[rank]);
            for (int group = 0; group < counts[byRank[rank]] / POINTS_PER_DIGEST; group++) {
                md5.digest(pointName(s, group, naming), digest);
                for (int k = 0; k < POINTS_PER_DIGEST; k++) {
                    int flipped = littleEndian(digest, k * 4) ^ Integer.MIN_VALUE;
                    entries[e++] = ((long) flipped << 32) | rank;
                }
            }
        }
        Arrays.sort(entries);

        int[] points = new int[total];
        int[] owners = new int[total];
        int m = 0;
        for (long entry : entries) {
            int point = (int) (entry >> 32);
            if (m == 0 || points[m - 1] != point) {
                points[m] = point;
                owners[m] = byRank[(int) entry];
                m++;
            }
        }
        return new KetamaRing(list, naming, rules, Arrays.copyOf(points, m), Arrays.copyOf(owners, m));
    }

    /** Server indices, the one that keeps a point shared with any later one first. */
    private static int[] serversByTieRank(List<Server> list, PointNaming naming, PointRules rules) {
        Integer[] order = new Integer[list.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        switch (rules) {
            case SPYMEMCACHED -> Arrays.sort(order, Comparator.reverseOrder());
            case LIBMEMCACHED -> { } // list order
            case TWEMPROXY -> {
                byte[][] names = new byte[list.size()][];
                for (int i = 0; i < names.length; i++) {
                    names[i] = nameBase(list.get(i), naming).getBytes(StandardCharsets.UTF_8);
                }
                // names tie only for contrived IPv6 hosts; the stable sort then keeps list order
                Arrays.sort(order, Comparator.<Integer>comparingInt(i -> names[i].length)
                        .thenComparing((i, j) -> Arrays.compareUnsigned(names[i], names[j])));
            }
        }
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    private static int[] pointsPerServer(List<Server> list, PointRules rules) {
        long totalWeight = 0;
        boolean equalWeights = true;
        for (Server s : list) {
            totalWeight += s.weight();
            equalWeights &= s.weight() == list.get(0).weight();
        }
        int[] counts = new int[list.size()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = equalWeights && rules == PointRules.SPYMEMCACHED
                    ? POINTS_PER_SERVER
                    : pointsPerServer(list.get(i).weight(), totalWeight, list.size());
        }
        return counts;
    }

    /**
     * The weighted formula, in the float arithmetic of libmemcached, twemproxy and spymemcached: each step
     * rounds to float as theirs does, which is why equal weights give 156 points for some server counts.
     */
    static int pointsPerServer(int weight, long totalWeight, int serverCount) {
        float pct = (float) weight / (float) totalWeight;
        float perServer = pct * POINTS_PER_SERVER / POINTS_PER_DIGEST * (float) serverCount;
        return (int) Math.floor((float) (perServer + 0.0000000001)) * POINTS_PER_DIGEST;
    }

    /** The bytes hashed for point group {@code group} of a server. */
    static byte[] pointName(Server s, int group, PointNaming naming) {
        return (nameBase(s, naming) + "-" + group).getBytes(StandardCharsets.UTF_8);
    }

    private static String nameBase(Server s, PointNaming naming) {
        return switch (naming) {
            case HOST_PORT -> s.name();
            case LIBMEMCACHED -> s.port() == DEFAULT_PORT ? s.host() : s.host() + ":" + s.port();
        };
    }

    private static int littleEndian(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    /**
     * The ketama hash of a key: the first 4 bytes of its MD5, little-endian, as an unsigned 32-bit number.
     *
     * @param key    an array holding the key
     * @param offset where the key starts
     * @param length how many bytes it has
     * @return the hash, in {@code [0, 2^32)}
     * @throws IndexOutOfBoundsException if the region is not inside the array
     */
    public static long hash(byte[] key, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, key.length);
        return MD5.get().position(key, offset, length) & 0xFFFFFFFFL;
    }

    @Override
    public List<Server> servers() {
        return servers;
    }

    /**
     * How point names are formed.
     *
     * @return the naming this ring was built with
     */
    public PointNaming naming() {
        return naming;
    }

    /**
     * How points were counted and shared points assigned.
     *
     * @return the rules this ring was built with
     */
    public PointRules rules() {
        return rules;
    }

    /** Points on the ring per server index, after shared points went to one owner. */
    int[] pointCounts() {
        int[] counts = new int[servers.size()];
        for (int o : owners) {
            counts[o]++;
        }
        return counts;
    }

    @Override
    public int indexFor(byte[] key, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, key.length);
        return owners[slot(MD5.get().position(key, offset, length))];
    }

    /** The position of the first point at or after a hash, wrapping to 0 past the last point. */
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

    /**
     * {@inheritDoc} With ketama these are the distinct servers met walking the ring clockwise from the key's
     * point.
     */
    @Override
    public int[] indicesFor(byte[] key, int offset, int length, int copies) {
        ServerList.checkCopies(copies);
        Objects.checkFromIndexSize(offset, length, key.length);
        int[] out = new int[Math.min(copies, servers.size())];
        if (out.length == 0) {
            return out;
        }
        int at = slot(MD5.get().position(key, offset, length));
        int found = 0;
        for (int step = 0; step < points.length && found < out.length; step++) {
            found = addIfAbsent(out, found, owners[(at + step) % points.length]);
        }
        // only servers without points are left: they come in list order
        for (int i = 0; i < servers.size() && found < out.length; i++) {
            found = addIfAbsent(out, found, i);
        }
        return out;
    }

    private static int addIfAbsent(int[] out, int found, int index) {
        for (int j = 0; j < found; j++) {
            if (out[j] == index) {
                return found;
            }
        }
        out[found] = index;
        return found + 1;
    }

    @Override
    public String toString() {
        return "KetamaRing[" + naming + ", " + rules + ", " + servers + "]";
    }

    /** A per-thread MD5 with a reusable output buffer, and the positions of the keys it placed last. */
    private static final class Md5 {
        private final MessageDigest md;
        private final byte[] out = new byte[16];
        private final PositionMemo memo = new PositionMemo();
        private final PositionMemo.Source source = this::hash;

        Md5() {
            try {
                md = MessageDigest.getInstance("MD5");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JDK provides MD5", e);
            }
        }

        /** A key's position on the ring: {@link #hash}, remembered for the keys placed last. */
        int position(byte[] key, int offset, int length) {
            return memo.position(key, offset, length, source);
        }

        /** The first 4 bytes of the region's MD5, little-endian. The caller checked the bounds. */
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
                throw new IllegalStateException("a 16-byte buffer holds an MD5", e);
            }
        }
    }
}
