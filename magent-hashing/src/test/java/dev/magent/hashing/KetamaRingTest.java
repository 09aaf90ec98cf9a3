package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import net.spy.memcached.DefaultHashAlgorithm;
import net.spy.memcached.KetamaNodeLocator;
import net.spy.memcached.MemcachedNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class KetamaRingTest {
    private static List<Server> servers(int n) {
        List<Server> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(Server.of("10.0." + (i / 250) + "." + (i % 250 + 1), 11211 + i % 3));
        }
        return list;
    }

    /** A spymemcached node that only knows its address: all KetamaNodeLocator needs. */
    private static MemcachedNode node(Server s) {
        InetSocketAddress address = new InetSocketAddress(s.host(), s.port());
        return (MemcachedNode) Proxy.newProxyInstance(KetamaRingTest.class.getClassLoader(),
                new Class<?>[] {MemcachedNode.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getSocketAddress" -> address;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "node " + address;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 10, 100})
    void placesKeysExactlyAsSpymemcached(int n) {
        List<Server> list = servers(n);
        List<MemcachedNode> nodes = new ArrayList<>();
        for (Server s : list) {
            nodes.add(node(s));
        }
        KetamaNodeLocator spy = new KetamaNodeLocator(nodes, DefaultHashAlgorithm.KETAMA_HASH);
        Ring ring = Ring.of(Algorithm.KETAMA, list);
        Random random = new Random(20261125L + n);
        for (int i = 0; i < 100_000; i++) {
            String key = randomAsciiKey(random);
            MemcachedNode expected = spy.getPrimary(key);
            int got = ring.indexFor(key.getBytes(StandardCharsets.UTF_8));
            assertEquals(nodes.indexOf(expected), got, "key " + key + " over " + n + " servers");
        }
    }

    private static String randomAsciiKey(Random random) {
        int len = 1 + random.nextInt(64);
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append((char) (33 + random.nextInt(94)));
        }
        return sb.toString();
    }

    @Test
    void equalWeightsGive160PointsEach() {
        for (int n : new int[] {1, 2, 3, 10, 25, 100}) {
            for (int c : KetamaRing.of(servers(n)).pointCounts()) {
                assertEquals(160, c, n + " servers");
            }
        }
        // the float formula libmemcached's weighted mode and twemproxy use gives 156 here; we follow spymemcached
        assertEquals(156, KetamaRing.pointsFor(1, 25, 25));
        assertEquals(160, KetamaRing.pointsFor(1, 10, 10));
    }

    /** An independent reference written from libmemcached's formula, TreeMap-based like spymemcached. */
    private static TreeMap<Long, Integer> reference(List<Server> list) throws Exception {
        TreeMap<Long, Integer> ring = new TreeMap<>();
        long total = list.stream().mapToLong(Server::weight).sum();
        for (int i = 0; i < list.size(); i++) {
            Server s = list.get(i);
            float pct = (float) s.weight() / (float) total;
            int points = (int) Math.floor((float) (pct * 160 / 4 * (float) list.size() + 0.0000000001)) * 4;
            for (int g = 0; g < points / 4; g++) {
                byte[] d = MessageDigest.getInstance("MD5")
                        .digest((s.host() + ":" + s.port() + "-" + g).getBytes(StandardCharsets.UTF_8));
                for (int h = 0; h < 4; h++) {
                    long k = ((long) (d[3 + h * 4] & 0xFF) << 24) | ((long) (d[2 + h * 4] & 0xFF) << 16)
                            | ((long) (d[1 + h * 4] & 0xFF) << 8) | (d[h * 4] & 0xFF);
                    ring.put(k, i);
                }
            }
        }
        return ring;
    }

    private static int referenceLocate(TreeMap<Long, Integer> ring, byte[] key) throws Exception {
        byte[] d = MessageDigest.getInstance("MD5").digest(key);
        long h = ((long) (d[3] & 0xFF) << 24) | ((d[2] & 0xFF) << 16) | ((d[1] & 0xFF) << 8) | (d[0] & 0xFF);
        Map.Entry<Long, Integer> e = ring.ceilingEntry(h);
        return (e == null ? ring.firstEntry() : e).getValue();
    }

    @Test
    void weightedListsMatchTheLibmemcachedFormula() throws Exception {
        for (int[] weights : new int[][] {{1, 2, 3}, {1, 1, 5}, {10, 1}, {3, 3, 3, 1}}) {
            List<Server> list = new ArrayList<>();
            for (int i = 0; i < weights.length; i++) {
                list.add(new Server("192.168.1." + (i + 1), 11211, weights[i]));
            }
            KetamaRing ring = KetamaRing.of(list);
            TreeMap<Long, Integer> ref = reference(list);
            int[] expectedCounts = new int[weights.length];
            ref.values().forEach(v -> expectedCounts[v]++);
            assertArrayEquals(expectedCounts, ring.pointCounts(), "points per server");
            Random random = new Random(7);
            int[] share = new int[weights.length];
            for (int i = 0; i < 20_000; i++) {
                byte[] key = ("w" + random.nextLong()).getBytes(StandardCharsets.UTF_8);
                int got = ring.indexFor(key);
                assertEquals(referenceLocate(ref, key), got);
                share[got]++;
            }
            int total = 0;
            for (int w : weights) {
                total += w;
            }
            for (int i = 0; i < weights.length; i++) {
                double expected = 20_000.0 * weights[i] / total;
                assertTrue(Math.abs(share[i] - expected) < expected * 0.35 + 200,
                        "share of server " + i + " with weights " + java.util.Arrays.toString(weights) + ": " + share[i]);
            }
        }
    }

    @Test
    void goldenPlacements() {
        // golden table, computed once with the reference above (weightedListsMatchTheLibmemcachedFormula) and frozen
        List<Server> list = List.of(new Server("127.0.0.1", 11211, 1), new Server("127.0.0.1", 11212, 2),
                new Server("127.0.0.1", 11213, 3));
        Ring ring = Ring.of(Algorithm.KETAMA, list);
        String[] keys = {"key1", "key2", "key3", "key4", "key5", "user:42", "session:abc", "a", "zzz", "magent"};
        StringBuilder table = new StringBuilder();
        for (String k : keys) {
            table.append(k).append('=').append(ring.indexFor(k.getBytes(StandardCharsets.UTF_8))).append(' ');
        }
        assertEquals(GOLDEN_WEIGHTED, table.toString().trim());
    }

    static final String GOLDEN_WEIGHTED =
            "key1=0 key2=2 key3=1 key4=0 key5=1 user:42=1 session:abc=2 a=1 zzz=0 magent=2";

    @Test
    void balancedWithEqualWeights() {
        Ring ring = Ring.of(Algorithm.KETAMA, servers(10));
        int[] counts = new int[10];
        Random random = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            counts[ring.indexFor(("k" + random.nextLong()).getBytes(StandardCharsets.UTF_8))]++;
        }
        for (int c : counts) {
            assertTrue(Math.abs(c - 10_000) < 2_000, "within 20% of the mean: " + c);
        }
    }

    @Test
    void copiesAreDistinctAndStartWithThePrimary() {
        Ring ring = Ring.of(Algorithm.KETAMA, servers(5));
        Random random = new Random(9);
        for (int i = 0; i < 1000; i++) {
            byte[] key = ("c" + random.nextInt()).getBytes(StandardCharsets.UTF_8);
            int[] copies = ring.indicesFor(key, 3);
            assertEquals(3, copies.length);
            assertEquals(ring.indexFor(key), copies[0]);
            Set<Integer> distinct = new HashSet<>();
            for (int c : copies) {
                distinct.add(c);
            }
            assertEquals(3, distinct.size());
        }
        assertEquals(5, ring.indicesFor("x".getBytes(StandardCharsets.UTF_8), 9).length);
    }

    @Test
    void libmemcachedNamingOmitsTheDefaultPort() {
        assertEquals("10.0.0.1-3", new String(KetamaRing.pointName(Server.of("10.0.0.1", 11211), 3,
                KetamaRing.PointNaming.LIBMEMCACHED), StandardCharsets.UTF_8));
        assertEquals("10.0.0.1:11212-3", new String(KetamaRing.pointName(Server.of("10.0.0.1", 11212), 3,
                KetamaRing.PointNaming.LIBMEMCACHED), StandardCharsets.UTF_8));
        assertEquals("10.0.0.1:11211-0", new String(KetamaRing.pointName(Server.of("10.0.0.1", 11211), 0,
                KetamaRing.PointNaming.HOST_PORT), StandardCharsets.UTF_8));
    }

    @Test
    void regionsHashLikeTheirBytes() {
        Ring ring = Ring.of(Algorithm.KETAMA, servers(10));
        byte[] padded = "xxuser:1yy".getBytes(StandardCharsets.UTF_8);
        assertEquals(ring.indexFor("user:1".getBytes(StandardCharsets.UTF_8)), ring.indexFor(padded, 2, 6));
    }
}
