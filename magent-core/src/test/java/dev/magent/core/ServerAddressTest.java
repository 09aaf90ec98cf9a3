package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ServerAddressTest {
    @Test
    void parsesHostAndPort() {
        assertEquals(new ServerAddress("192.168.11.51", 11211), ServerAddress.parse("192.168.11.51:11211"));
        assertEquals(new ServerAddress("cache-1.example", 1), ServerAddress.parse("cache-1.example:1"));
        assertEquals(new ServerAddress("::1", 11211), ServerAddress.parse("[::1]:11211"));
        assertEquals("[::1]:11211", ServerAddress.parse("[::1]:11211").toString());
        assertEquals("10.0.0.1:65535", ServerAddress.parse("10.0.0.1:65535").toString());
    }

    @Test
    void rejectsWhatIsNotHostAndPort() {
        for (String bad : new String[] {"", "host", "host:", ":11211", "host:0", "host:65536", "host:abc",
                "::1:11211", "[::1]11211", "[::1]", "a:b:c"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServerAddress.parse(bad),
                    bad);
            assertTrue(e.getMessage().contains(bad.isEmpty() ? "host:port" : bad), e.getMessage());
        }
    }
}
