package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ModuloRingTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theHowTosPlacement() {
        // "-s 192.168.11.51:11211 -s 192.168.11.52:11211": key2 and key4 on the first, the rest on the second
        Ring ring = Ring.of(Algorithm.MODULO, List.of(Server.of("192.168.11.51", 11211), Server.of("192.168.11.52", 11211)));
        assertEquals(0, ring.indexFor(bytes("key2")));
        assertEquals(0, ring.indexFor(bytes("key4")));
        assertEquals(1, ring.indexFor(bytes("key1")));
        assertEquals(1, ring.indexFor(bytes("key3")));
        assertEquals(1, ring.indexFor(bytes("key5")));
    }

    @Test
    void djbHashByHand() {
        assertEquals(5381, ModuloRing.hash(new byte[0], 0, 0));
        assertEquals(5381 * 33 + 'a', ModuloRing.hash(bytes("a"), 0, 1));
        assertEquals((5381 * 33 + 'a') * 33 + 'b', ModuloRing.hash(bytes("ab"), 0, 2));
        // a byte >= 0x80 counts as a negative signed char: 5381*33 + (-1)
        assertEquals(5381 * 33 - 1, ModuloRing.hash(new byte[] {(byte) 0xFF}, 0, 1));
        // wraps in 32 bits, then masked to 31
        long h = 5381;
        byte[] longKey = bytes("a-rather-long-key-that-overflows-32-bits");
        for (byte b : longKey) {
            h = (h * 33 + b) & 0xFFFFFFFFL;
        }
        assertEquals((int) (h & 0x7FFFFFFF), ModuloRing.hash(longKey, 0, longKey.length));
        assertEquals(ModuloRing.hash(bytes("key2"), 0, 4), ModuloRing.hash(bytes("xxkey2yy"), 2, 4), "regions");
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
            counts[ring.indexFor(bytes("user:" + random.nextInt() + ":" + i))]++;
        }
        for (int c : counts) {
            assertTrue(Math.abs(c - 10_000) < 500, "within 5% of the mean: " + c);
        }
    }

    @Test
    void copiesGoToTheNextServers() {
        Ring ring = Ring.of(Algorithm.MODULO, List.of(Server.of("a", 1), Server.of("b", 1), Server.of("c", 1)));
        int first = ring.indexFor(bytes("k"));
        assertArrayEquals(new int[] {first, (first + 1) % 3, (first + 2) % 3}, ring.indicesFor(bytes("k"), 5));
        assertEquals(2, ring.indicesFor(bytes("k"), 2).length);
    }

    @Test
    void rejectsBadLists() {
        assertThrows(IllegalArgumentException.class, () -> Ring.of(Algorithm.MODULO, List.of()));
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                () -> Ring.of(Algorithm.MODULO, List.of(Server.of("a", 1), Server.of("a", 1))));
        assertTrue(dup.getMessage().contains("a:1"));
        assertThrows(IllegalArgumentException.class, () -> new Server("a", 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Server("a", 0, 1));
    }
}
