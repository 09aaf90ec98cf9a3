package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.ProxyConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The resync and hinted-handoff flags, and the {@code magent resync} subcommand's argument handling. */
class ResyncOptionsTest {
    @Test
    void defaultsAndFlags() throws Exception {
        ProxyConfig defaults = CliOptions.parse("-s", "127.0.0.1:1").toConfig();
        assertTrue(defaults.autoResync());
        assertEquals(20_000, defaults.resyncRate());
        assertEquals(100_000, defaults.hintCapacity());
        ProxyConfig set = CliOptions.parse("-s", "127.0.0.1:1", "--no-resync", "--resync-rate", "500",
                "--hint-capacity=7").toConfig();
        assertFalse(set.autoResync());
        assertEquals(500, set.resyncRate());
        assertEquals(7, set.hintCapacity());
    }

    @Test
    void badValuesAreUsageErrors() {
        assertEquals(Main.EXIT_USAGE, Main.run(new String[] {"-s", "127.0.0.1:1", "--resync-rate", "0"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(new ByteArrayOutputStream())));
    }

    @Test
    void resyncSubcommand() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream o = new PrintStream(new ByteArrayOutputStream());
        assertEquals(Main.EXIT_USAGE, Main.run(new String[] {"resync"}, o, e));
        assertEquals(Main.EXIT_USAGE, Main.run(new String[] {"resync", "nonsense"}, o, e));
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        err.reset();
        assertEquals(Main.EXIT_FAILED, Main.run(new String[] {"resync", "127.0.0.1:1", "--proxy",
                "127.0.0.1:" + closedPort}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("magent: cannot reach the proxy at 127.0.0.1:"),
                err.toString(StandardCharsets.UTF_8));
    }
}
