package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.hashing.KetamaRing.PointNaming;
import dev.magent.hashing.KetamaRing.PointRules;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What every ring shares: building, argument checks, the server list. */
class RingTest {

    @Test
    void buildsEachAlgorithm() {
        List<Server> servers = List.of(Server.of("10.0.0.1", 11211), Server.of("10.0.0.2", 11211));
        assertInstanceOf(ModuloRing.class, Ring.of(Algorithm.MODULO, servers));
        KetamaRing ketama = (KetamaRing) Ring.of(Algorithm.KETAMA, servers);
        assertEquals(PointNaming.HOST_PORT, ketama.naming());
        assertEquals(PointRules.SPYMEMCACHED, ketama.rules());
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void keepsTheServersInOrderAndImmutable(Algorithm algorithm) {
        List<Server> servers = new ArrayList<>(List.of(Server.of("b", 2), Server.of("a", 1), Server.of("c", 3)));
        Ring ring = Ring.of(algorithm, servers);
        servers.clear();
        assertEquals(List.of(Server.of("b", 2), Server.of("a", 1), Server.of("c", 3)), ring.servers());
        assertThrows(UnsupportedOperationException.class, () -> ring.servers().add(Server.of("d", 4)));
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void rejectsAnEmptyList(Algorithm algorithm) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ring.of(algorithm, List.of()));
        assertEquals("a ring needs at least one server", e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void rejectsAServerListedTwiceEvenWithAnotherWeight(Algorithm algorithm) {
        List<Server> servers = List.of(Server.of("10.0.0.1", 11211), Server.of("10.0.0.2", 11211),
                new Server("10.0.0.1", 11211, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ring.of(algorithm, servers));
        assertEquals("server listed twice: 10.0.0.1:11211", e.getMessage());
    }

    @Test
    void sameHostOnAnotherPortIsAnotherServer() {
        Ring ring = Ring.of(Algorithm.KETAMA, List.of(Server.of("10.0.0.1", 11211), Server.of("10.0.0.1", 11212)));
        assertEquals(2, ring.servers().size());
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void rejectsNegativeCopiesAndRegionsOutsideTheKey(Algorithm algorithm) {
        Ring ring = Ring.of(algorithm, List.of(Server.of("a", 1), Server.of("b", 1)));
        byte[] key = {'k', 'e', 'y'};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ring.indicesFor(key, -1));
        assertEquals("copies must not be negative: -1", e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> ring.indexFor(key, 2, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> ring.indexFor(key, -1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> ring.indicesFor(key, 1, 3, 1));
        assertEquals(ring.indexFor(new byte[0]), ring.indexFor(key, 3, 0), "an empty region is the empty key");
    }

    @Test
    void serverChecksItsFields() {
        IllegalArgumentException weight = assertThrows(IllegalArgumentException.class,
                () -> new Server("10.0.0.1", 11211, 0));
        assertEquals("weight must be at least 1: 0 for 10.0.0.1:11211", weight.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Server("a", 1, -5)).getMessage()
                .contains("-5"));
        assertEquals("port out of range 1..65535: 0 for a",
                assertThrows(IllegalArgumentException.class, () -> Server.of("a", 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Server.of("a", 65536));
        assertEquals("empty host", assertThrows(IllegalArgumentException.class, () -> Server.of("", 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Server.of("[::1]", 11211));
        assertThrows(NullPointerException.class, () -> Server.of(null, 11211));
    }

    @Test
    void serverNames() {
        assertEquals("10.0.0.1:11211", Server.of("10.0.0.1", 11211).name());
        assertEquals("cache.example:11212", Server.of("cache.example", 11212).name());
        assertEquals("[::1]:11211", Server.of("::1", 11211).name());
        assertEquals(1, Server.of("a", 1).weight());
    }
}
