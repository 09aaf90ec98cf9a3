package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ModuloRingTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static int djb(byte[] key) {
        return ModuloRing.hash(key, 0, key.length);
    }

    @Test
    void theHowTosPlacement() {
        // magent's how-to: "-s 192.168.11.51:11211 -s 192.168.11.52:11211"; key2 and key4 on the first server,
        // key1, key3 and key5 on the second
        Ring ring = Ring.of(Algorithm.MODULO,
                List.of(Server.of("192.168.11.51", 11211), Server.of("192.168.11.52", 11211)));
        assertEquals(0, ring.indexFor(bytes("key2")));
        assertEquals(0, ring.indexFor(bytes("key4")));
        assertEquals(1, ring.indexFor(bytes("key1")));
        assertEquals(1, ring.indexFor(bytes("key3")));
        assertEquals(1, ring.indexFor(bytes("key5")));
        assertEquals(Server.of("192.168.11.52", 11211), ring.serverFor(bytes("key1")));
    }

    /** Values worked out apart from the code (h = h * 33 + signed byte, mod 2^32, then & 0x7FFFFFFF). */
    @Test
    void djbHashByHand() {
        assertEquals(5381, djb(new byte[0]));
        assertEquals(177_670, djb(bytes("a")));                 // 5381 * 33 + 97
        assertEquals(5_863_208, djb(bytes("ab")));              // 177670 * 33 + 98
        assertEquals(2_090_432_895, djb(bytes("key1")));        // wrapped past 2^32 once
        assertEquals(2_090_432_896, djb(bytes("key2")));
        assertEquals(430_592_266, djb(bytes("user:1000:profile")));
        // a byte >= 0x80 is a negative signed char: 0xFF adds -1, not 255
        assertEquals(177_572, djb(new byte[] {(byte) 0xFF}));   // 5381 * 33 - 1
        // "café" in UTF-8 ends with 0xC3 0xA9; taken unsigned the hash would be 255161979
        assertEquals(255_153_275, djb(bytes("caf\u00e9")));
    }

    @Test
    void regionsHashLikeTheirBytes() {
        byte[] padded = bytes("xxkey2yy");
        assertEquals(djb(bytes("key2")), ModuloRing.hash(padded, 2, 4));
        Ring ring = ModuloRing.of(List.of(Server.of("a", 1), Server.of("b", 1), Server.of("c", 1)));
        assertEquals(ring.indexFor(bytes("key2")), ring.indexFor(padded, 2, 4));
        assertArrayEquals(ring.indicesFor(bytes("key2"), 2), ring.indicesFor(padded, 2, 4, 2));
    }

    @Test
    void weightsAreIgnored() {
        Ring plain = ModuloRing.of(List.of(Server.of("a", 1), Server.of("b", 1), Server.of("c", 1)));
        Ring weighted = ModuloRing.of(List.of(new Server("a", 1, 5), Server.of("b", 1), new Server("c", 1, 9)));
        Random random = new Random(1);
        for (int i = 0; i < 1000; i++) {
            byte[] key = bytes("k" + random.nextLong());
            assertEquals(plain.indexFor(key), weighted.indexFor(key));
        }
    }

    @Test
    void balanced() {
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            servers.add(Server.of("10.0.0." + i, 11211));
        }
        Ring ring = Ring.of(Algorithm.MODULO, servers);
        int[] counts = new int[10];
        Random random = new Random(42);
        for (int i = 0; i < 100_000; i++) {
            counts[ring.indexFor(bytes("user:" + random.nextInt(1 << 30)))]++;
        }
        for (int c : counts) {
            assertTrue(Math.abs(c - 10_000) <= 500, "within 5% of the mean: " + Arrays.toString(counts));
        }
    }

    @Test
    void copiesGoToTheNextServersInListOrder() {
        Ring ring = Ring.of(Algorithm.MODULO, List.of(Server.of("a", 1), Server.of("b", 1), Server.of("c", 1)));
        Random random = new Random(3);
        for (int i = 0; i < 100; i++) {
            byte[] key = bytes("k" + random.nextInt());
            int first = ring.indexFor(key);
            assertArrayEquals(new int[] {first, (first + 1) % 3, (first + 2) % 3}, ring.indicesFor(key, 5));
            assertArrayEquals(new int[] {first, (first + 1) % 3}, ring.indicesFor(key, 2));
            assertArrayEquals(new int[0], ring.indicesFor(key, 0));
        }
    }
}
