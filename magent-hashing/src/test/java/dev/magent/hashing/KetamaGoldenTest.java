package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.hashing.KetamaRing.PointNaming;
import dev.magent.hashing.KetamaRing.PointRules;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Placement identical to the real libmemcached and twemproxy: {@code rings.spec} lists rings and keys, and
 * {@code libmemcached.golden} and {@code twemproxy.golden} say where libmemcached 1.1.4 and nutcracker 0.5.0
 * put each key. The programs that wrote them are in {@code src/test/golden/}.
 */
class KetamaGoldenTest {

    record SpecRing(String label, long seed, int count, List<Server> servers, List<byte[]> extraKeys) {
    }

    record Golden(int[] placement, Map<String, Integer> extraKeys) {
    }

    @TestFactory
    Stream<DynamicTest> placesKeysAsLibmemcached() {
        return compare("libmemcached.golden", PointRules.LIBMEMCACHED);
    }

    @TestFactory
    Stream<DynamicTest> placesKeysAsTwemproxy() {
        return compare("twemproxy.golden", PointRules.TWEMPROXY);
    }

    private static Stream<DynamicTest> compare(String resource, PointRules rules) {
        Map<String, Golden> golden = golden(resource);
        return spec().stream().map(ring -> DynamicTest.dynamicTest(ring.label(), () -> {
            Golden expected = golden.get(ring.label());
            assertNotNull(expected, resource + " has no ring " + ring.label());
            KetamaRing ketama = KetamaRing.of(ring.servers(), PointNaming.LIBMEMCACHED, rules);
            List<byte[]> keys = keys(ring.seed(), ring.count());
            int[] placement = new int[keys.size()];
            for (int i = 0; i < placement.length; i++) {
                placement[i] = ketama.indexFor(keys.get(i));
            }
            assertArrayEquals(expected.placement(), placement, ring.label());
            for (byte[] key : ring.extraKeys()) {
                assertEquals(expected.extraKeys().get(HexFormat.of().formatHex(key)), ketama.indexFor(key),
                        () -> ring.label() + " " + new String(key, StandardCharsets.ISO_8859_1));
            }
        }));
    }

    @Test
    void theSpecCoversWhatItClaims() {
        SpecRing shared = spec().stream().filter(r -> r.label().equals("shared-point")).findFirst().orElseThrow();
        for (byte[] key : shared.extraKeys()) {
            long h = KetamaRing.hash(key, 0, key.length);
            assertTrue(h > 294_658_143L && h <= 295_072_699L, "in the arc ending at the shared point");
        }
        KetamaReference reference = new KetamaReference(shared.servers(), true, true, KetamaReference.Tie.FIRST_IN_LIST);
        assertEquals(319, reference.points.size(), "one point shared");
        assertEquals(294_658_143L, reference.points.lowerKey(295_072_699L));
        boolean highBytes = false;
        for (byte[] key : keys(2, 2000)) {
            for (byte b : key) {
                highBytes |= b < 0;
            }
        }
        assertTrue(highBytes, "keys with bytes >= 0x80 show that bytes, not chars, are hashed");
    }

    /** The key stream of rings.spec: splitmix64, lengths 1..100, bytes 0x21..0x7E or 0x80..0xFF. */
    static List<byte[]> keys(long seed, int count) {
        long[] state = {seed};
        List<byte[]> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            byte[] key = new byte[1 + (int) Long.remainderUnsigned(splitmix64(state), 100)];
            for (int j = 0; j < key.length; j++) {
                int v = (int) Long.remainderUnsigned(splitmix64(state), 222);
                key[j] = (byte) (v < 94 ? 0x21 + v : 0x80 + (v - 94));
            }
            keys.add(key);
        }
        return keys;
    }

    private static long splitmix64(long[] state) {
        long z = (state[0] += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static List<SpecRing> spec() {
        List<SpecRing> rings = new ArrayList<>();
        String label = null;
        long seed = 0;
        int count = 0;
        List<Server> servers = new ArrayList<>();
        List<byte[]> extra = new ArrayList<>();
        for (String line : lines("rings.spec")) {
            String[] w = line.split(" ");
            switch (w[0]) {
                case "ring" -> {
                    label = w[1];
                    seed = Long.parseLong(w[2]);
                    count = Integer.parseInt(w[3]);
                    servers = new ArrayList<>();
                    extra = new ArrayList<>();
                }
                case "server" -> servers.add(new Server(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3])));
                case "key" -> extra.add(HexFormat.of().parseHex(w[1]));
                case "end" -> rings.add(new SpecRing(label, seed, count, servers, extra));
                default -> throw new IllegalStateException("rings.spec: " + line);
            }
        }
        return rings;
    }

    static Map<String, Golden> golden(String resource) {
        Map<String, Golden> golden = new LinkedHashMap<>();
        String label = null;
        List<Integer> placement = new ArrayList<>();
        Map<String, Integer> extra = new LinkedHashMap<>();
        for (String line : lines(resource)) {
            String[] w = line.split(" ");
            switch (w[0]) {
                case "ring" -> {
                    label = w[1];
                    placement = new ArrayList<>();
                    extra = new LinkedHashMap<>();
                }
                case "placement" -> {
                    for (int i = 1; i < w.length; i++) {
                        placement.add(Integer.parseInt(w[i]));
                    }
                }
                case "key" -> extra.put(w[1], Integer.parseInt(w[2]));
                case "end" -> golden.put(label,
                        new Golden(placement.stream().mapToInt(Integer::intValue).toArray(), extra));
                default -> throw new IllegalStateException(resource + ": " + line);
            }
        }
        return golden;
    }

    private static List<String> lines(String resource) {
        try (InputStream in = KetamaGoldenTest.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + resource);
            }
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
