package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.hashing.KetamaReference.Tie;
import dev.magent.hashing.KetamaRing.PointNaming;
import dev.magent.hashing.KetamaRing.PointRules;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.spy.memcached.KetamaNodeKeyFormatter.Format;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KetamaRingTest {

    /** n servers on 10.0.x.y, ports 11211..11213 so that both namings are exercised. */
    static List<Server> servers(int n) {
        List<Server> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(Server.of("10.0." + (i / 250) + "." + (i % 250 + 1), 11211 + i % 3));
        }
        return list;
    }

    static List<Server> weighted(int... weights) {
        List<Server> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(new Server("192.168.1." + (i + 1), 11211, weights[i]));
        }
        return list;
    }

    /** A memcached-valid ASCII key (spymemcached takes Strings): 1..250 printable characters. */
    static String asciiKey(Random random) {
        char[] key = new char[1 + random.nextInt(250)];
        for (int i = 0; i < key.length; i++) {
            key[i] = (char) (0x21 + random.nextInt(94));
        }
        return new String(key);
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0} servers")
    @ValueSource(ints = {1, 2, 3, 10, 100})
    void placesKeysAsSpymemcachedsDefaultConfiguration(int n) {
        List<Server> list = servers(n);
        Spymemcached spy = Spymemcached.defaults(list);
        Ring ring = Ring.of(Algorithm.KETAMA, list);
        Random random = new Random(20_251_125L + n);
        for (int i = 0; i < 100_000; i++) {
            String key = asciiKey(random);
            assertEquals(spy.indexFor(key), ring.indexFor(bytes(key)), () -> "key " + key);
        }
    }

    @ParameterizedTest(name = "{0} servers")
    @ValueSource(ints = {1, 3, 10, 100})
    void libmemcachedNamingPlacesKeysAsSpymemcachedsLibmemcachedFormat(int n) {
        List<Server> list = servers(n);
        Spymemcached spy = Spymemcached.with(list, Format.LIBMEMCACHED, false);
        Ring ring = KetamaRing.of(list, PointNaming.LIBMEMCACHED);
        Random random = new Random(77L + n);
        for (int i = 0; i < 20_000; i++) {
            String key = asciiKey(random);
            assertEquals(spy.indexFor(key), ring.indexFor(bytes(key)), () -> "key " + key);
        }
    }

    @Test
    void weightedListsPlaceKeysAsSpymemcachedGivenWeights() {
        List<List<Server>> lists = List.of(weighted(1, 2, 3), weighted(1, 1, 5), weighted(10, 1), weighted(3, 3, 3, 1),
                mixedWeights(50));
        for (List<Server> list : lists) {
            for (Format format : Format.values()) {
                Spymemcached spy = Spymemcached.with(list, format, true);
                Ring ring = KetamaRing.of(list,
                        format == Format.LIBMEMCACHED ? PointNaming.LIBMEMCACHED : PointNaming.HOST_PORT);
                Random random = new Random(list.size());
                for (int i = 0; i < 20_000; i++) {
                    String key = asciiKey(random);
                    assertEquals(spy.indexFor(key), ring.indexFor(bytes(key)), () -> format + " " + list + " " + key);
                }
            }
        }
    }

    private static List<Server> mixedWeights(int n) {
        List<Server> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new Server("10.1.0." + (i + 1), 11211 + i % 2, 1 + i % 5));
        }
        return list;
    }

    @Test
    void weightedListsMatchTheReferenceAndTheFormula() {
        for (int[] weights : new int[][] {{1, 2, 3}, {1, 1, 5}, {10, 1}, {3, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}) {
            List<Server> list = weighted(weights);
            for (PointRules rules : PointRules.values()) {
                KetamaRing ring = KetamaRing.of(list, PointNaming.HOST_PORT, rules);
                Tie tie = switch (rules) {
                    case SPYMEMCACHED -> Tie.LAST_IN_LIST;
                    case LIBMEMCACHED -> Tie.FIRST_IN_LIST;
                    case TWEMPROXY -> Tie.FIRST_BY_NAME;
                };
                KetamaReference reference = new KetamaReference(list, false, true, tie);
                int total = Arrays.stream(weights).sum();
                for (int i = 0; i < weights.length; i++) {
                    assertEquals(KetamaReference.formula(weights[i], total, weights.length),
                            reference.pointsPerServer[i]);
                }
                // no two of these servers share a point, so every point is on the ring
                assertArrayEquals(reference.pointsPerServer, ring.pointCounts(), "points per server " + list);
                Random random = new Random(7);
                for (int i = 0; i < 20_000; i++) {
                    byte[] key = randomBytes(random);
                    assertEquals(reference.locate(key), ring.indexFor(key), () -> rules + " " + list);
                }
            }
        }
    }

    /** Point counts from the formula, worked by hand: {1,2,3} over 3 servers is 80/160/240, {1,1,5} 68/68/340. */
    @Test
    void pointCountsOfWeightedLists() {
        assertArrayEquals(new int[] {80, 160, 240}, KetamaRing.of(weighted(1, 2, 3)).pointCounts());
        // 1/7 * 40 * 3 = 17.14 -> 17 * 4 = 68; 5/7 * 120 = 85.7 -> 85 * 4 = 340: rounding loses 4 points
        assertArrayEquals(new int[] {68, 68, 340}, KetamaRing.of(weighted(1, 1, 5)).pointCounts());
        assertArrayEquals(new int[] {288, 28}, KetamaRing.of(weighted(10, 1)).pointCounts());
    }

    @Test
    void equalWeightsGive160PointsUnderSpymemcachedRulesAndTheFormulaUnderTheOthers() {
        for (int n : new int[] {1, 2, 3, 10, 24, 25, 26, 50, 100, 200}) {
            List<Server> list = servers(n);
            int formula = KetamaReference.formula(1, n, n);
            for (int c : KetamaRing.of(list).pointCounts()) {
                assertEquals(160, c, n + " servers");
            }
            for (PointRules rules : List.of(PointRules.LIBMEMCACHED, PointRules.TWEMPROXY)) {
                int[] counts = KetamaRing.of(list, PointNaming.LIBMEMCACHED, rules).pointCounts();
                assertEquals(n * formula, Arrays.stream(counts).sum(), n + " servers");
            }
        }
        // the float formula's known dips: where libmemcached and twemproxy differ from spymemcached
        assertEquals(156, KetamaReference.formula(1, 25, 25));
        assertEquals(156, KetamaReference.formula(1, 100, 100));
        assertEquals(160, KetamaReference.formula(1, 10, 10));
        assertEquals(156, KetamaRing.pointsPerServer(1, 100, 100));
        // the same weights scaled up give the same dip: it is pct that rounds
        assertEquals(KetamaRing.pointsPerServer(1, 25, 25), KetamaRing.pointsPerServer(4, 100, 25));
    }

    /**
     * Frozen {key, server} tables for weighted lists, taken once from spymemcached's weighted
     * KetamaNodeLocator and checked against KetamaReference; they catch a change that moves both.
     */
    @Test
    void goldenTablesForWeightedLists() {
        String[] keys = {"key1", "key2", "key3", "key4", "key5", "user:42", "session:abc", "a", "zzz", "magent",
                "product:1001", "cart:9", "\u00e9t\u00e9", "k"};
        assertEquals(GOLDEN_1_2_3, table(KetamaRing.of(weighted(1, 2, 3)), keys));
        assertEquals(GOLDEN_1_1_5, table(KetamaRing.of(weighted(1, 1, 5)), keys));
        for (List<Server> list : List.of(weighted(1, 2, 3), weighted(1, 1, 5))) {
            KetamaReference reference = new KetamaReference(list, false, true, Tie.LAST_IN_LIST);
            StringBuilder expected = new StringBuilder();
            for (String k : keys) {
                expected.append(k).append('=').append(reference.locate(bytes(k))).append(' ');
            }
            assertEquals(expected.toString().trim(), table(KetamaRing.of(list), keys));
        }
    }

    static final String GOLDEN_1_2_3 = "key1=2 key2=1 key3=0 key4=1 key5=2 user:42=0 session:abc=2 a=1 zzz=2 magent=2"
            + " product:1001=0 cart:9=2 \u00e9t\u00e9=0 k=2";
    static final String GOLDEN_1_1_5 = "key1=2 key2=1 key3=0 key4=2 key5=2 user:42=0 session:abc=2 a=1 zzz=2 magent=2"
            + " product:1001=0 cart:9=2 \u00e9t\u00e9=0 k=2";

    private static String table(Ring ring, String[] keys) {
        StringBuilder table = new StringBuilder();
        for (String k : keys) {
            table.append(k).append('=').append(ring.indexFor(bytes(k))).append(' ');
        }
        return table.toString().trim();
    }

    /** 10.0.2.53:11211-g and 10.0.2.161:11211-g share the point 3152960057. */
    @Test
    void aSharedPointGoesToTheLaterServerAsInSpymemcached() {
        Server a = Server.of("10.0.2.53", 11211);
        Server b = Server.of("10.0.2.161", 11211);
        long shared = 3_152_960_057L;
        KetamaReference both = new KetamaReference(List.of(a, b), false, false, Tie.FIRST_IN_LIST);
        assertTrue(both.points.containsKey(shared));
        assertEquals(319, both.points.size(), "320 points, one shared");
        long before = both.points.lowerKey(shared);

        List<String> arcKeys = new ArrayList<>();
        Random random = new Random(5);
        while (arcKeys.size() < 20) {
            String key = "arc:" + random.nextInt();
            long h = KetamaReference.hash(bytes(key));
            if (h > before && h <= shared) {
                arcKeys.add(key);
            }
        }
        for (List<Server> list : List.of(List.of(a, b), List.of(b, a))) {
            Spymemcached spy = Spymemcached.defaults(list);
            KetamaRing spyRules = KetamaRing.of(list);
            KetamaRing libmemcachedRules = KetamaRing.of(list, PointNaming.HOST_PORT, PointRules.LIBMEMCACHED);
            KetamaRing twemproxyRules = KetamaRing.of(list, PointNaming.HOST_PORT, PointRules.TWEMPROXY);
            assertArrayEquals(new int[] {159, 160}, spyRules.pointCounts(), "the earlier one lost the shared point");
            for (String key : arcKeys) {
                assertEquals(1, spy.indexFor(key), "spymemcached: the later one");
                assertEquals(1, spyRules.indexFor(bytes(key)));
                assertEquals(0, libmemcachedRules.indexFor(bytes(key)), "libmemcached: the earlier one");
                // twemproxy: the shorter name, "10.0.2.53:11211", whatever the order
                assertEquals(list.indexOf(a), twemproxyRules.indexFor(bytes(key)));
            }
        }
    }

    @Test
    void hashIsTheFirstFourBytesOfMd5LittleEndian() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assertEquals(0xd98c1dd4L, KetamaRing.hash(new byte[0], 0, 0));
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assertEquals(0xb975c10cL, KetamaRing.hash(bytes("xax"), 1, 1));
        Random random = new Random(11);
        for (int i = 0; i < 1000; i++) {
            byte[] key = randomBytes(random);
            assertEquals(KetamaReference.hash(key), KetamaRing.hash(key, 0, key.length));
        }
    }

    @Test
    void hashesBytesNotChars() {
        // "été" is 5 UTF-8 bytes; hashing its 3 chars as bytes would give another hash
        byte[] utf8 = bytes("\u00e9t\u00e9");
        byte[] latin1 = "\u00e9t\u00e9".getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(KetamaReference.hash(utf8), KetamaRing.hash(utf8, 0, utf8.length));
        assertNotEquals(KetamaRing.hash(utf8, 0, utf8.length), KetamaRing.hash(latin1, 0, latin1.length));
    }

    @Test
    void pointNames() {
        Server def = Server.of("10.0.0.1", 11211);
        Server other = Server.of("10.0.0.1", 11212);
        Server v6 = Server.of("::1", 11212);
        assertEquals("10.0.0.1:11211-0", name(def, 0, PointNaming.HOST_PORT));
        assertEquals("10.0.0.1-3", name(def, 3, PointNaming.LIBMEMCACHED));
        assertEquals("10.0.0.1:11212-39", name(other, 39, PointNaming.LIBMEMCACHED));
        assertEquals("[::1]:11212-0", name(v6, 0, PointNaming.HOST_PORT));
        assertEquals("::1:11212-0", name(v6, 0, PointNaming.LIBMEMCACHED));
    }

    private static String name(Server s, int group, PointNaming naming) {
        return new String(KetamaRing.pointName(s, group, naming), StandardCharsets.UTF_8);
    }

    @Test
    void regionsPlaceLikeTheirBytes() {
        Ring ring = Ring.of(Algorithm.KETAMA, servers(10));
        byte[] padded = bytes("xxuser:1yy");
        assertEquals(ring.indexFor(bytes("user:1")), ring.indexFor(padded, 2, 6));
        assertArrayEquals(ring.indicesFor(bytes("user:1"), 3), ring.indicesFor(padded, 2, 6, 3));
    }

    @Test
    void balancedWithEqualWeights() {
        Ring ring = Ring.of(Algorithm.KETAMA, servers(10));
        int[] counts = new int[10];
        Random random = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            counts[ring.indexFor(randomBytes(random))]++;
        }
        for (int c : counts) {
            assertTrue(Math.abs(c - 10_000) <= 2_000, "within 20% of the mean: " + Arrays.toString(counts));
        }
    }

    /**
     * A server's share of the key space is the sum of the arcs before its k points: relative spread about
     * 1/sqrt(k). Shares must be within three times that of the weight's share (28 points: 57%, 240: 19%).
     */
    @Test
    void sharesFollowWeights() {
        for (int[] weights : new int[][] {{1, 2, 3}, {1, 1, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}) {
            KetamaRing ring = KetamaRing.of(weighted(weights));
            int[] counts = new int[weights.length];
            Random random = new Random(13);
            for (int i = 0; i < 100_000; i++) {
                counts[ring.indexFor(randomBytes(random))]++;
            }
            int total = Arrays.stream(weights).sum();
            int[] points = ring.pointCounts();
            for (int i = 0; i < weights.length; i++) {
                double expected = 100_000.0 * weights[i] / total;
                assertTrue(Math.abs(counts[i] - expected) <= 3 * expected / Math.sqrt(points[i]),
                        "share of server " + i + ": " + Arrays.toString(weights) + " " + Arrays.toString(counts));
            }
        }
    }

    @Test
    void copiesAreDistinctServersStartingWithTheKeysOwn() {
        Random random = new Random(9);
        for (int n = 1; n <= 12; n++) {
            List<Server> list = servers(n);
            for (Ring ring : List.of(KetamaRing.of(list), KetamaRing.of(weighted(1, 7, 2)))) {
                int size = ring.servers().size();
                for (int copies = 0; copies <= size + 2; copies++) {
                    byte[] key = randomBytes(random);
                    int[] indices = ring.indicesFor(key, copies);
                    assertEquals(Math.min(copies, size), indices.length);
                    assertEquals(indices.length, Arrays.stream(indices).distinct().count(), Arrays.toString(indices));
                    if (copies > 0) {
                        assertEquals(ring.indexFor(key), indices[0]);
                    }
                }
            }
        }
    }

    @Test
    void copiesFollowTheRingClockwise() {
        List<Server> list = servers(5);
        KetamaReference reference = new KetamaReference(list, false, false, Tie.LAST_IN_LIST);
        KetamaRing ring = KetamaRing.of(list);
        Random random = new Random(17);
        for (int i = 0; i < 1000; i++) {
            byte[] key = randomBytes(random);
            List<Integer> expected = new ArrayList<>();
            for (int owner : reference.points.tailMap(KetamaReference.hash(key)).values()) {
                if (!expected.contains(owner)) {
                    expected.add(owner);
                }
            }
            for (int owner : reference.points.values()) {
                if (!expected.contains(owner)) {
                    expected.add(owner);
                }
            }
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), ring.indicesFor(key, 5));
        }
    }

    @Test
    void aServerWithoutPointsOwnsNoKeyButStillTakesCopies() {
        // 1/1001 * 40 * 2 = 0.08 -> no points for the first server, as in libmemcached and spymemcached;
        // 1000/1001 * 80 = 79.92 -> 316 for the second
        KetamaRing ring = KetamaRing.of(weighted(1, 1000));
        assertArrayEquals(new int[] {0, 316}, ring.pointCounts());
        Random random = new Random(19);
        for (int i = 0; i < 1000; i++) {
            byte[] key = randomBytes(random);
            assertEquals(1, ring.indexFor(key));
            assertArrayEquals(new int[] {1, 0}, ring.indicesFor(key, 2));
        }
    }

    static byte[] randomBytes(Random random) {
        byte[] key = new byte[1 + random.nextInt(250)];
        random.nextBytes(key);
        return key;
    }
}
