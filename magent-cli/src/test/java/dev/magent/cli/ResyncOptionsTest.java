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

/**
 * The resync and hinted-handoff flags, and the {@code magent resync} and {@code magent verify} subcommands'
 * argument handling.
 */
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

    @Test
    void verifySubcommand() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream o = new PrintStream(new ByteArrayOutputStream());
        assertEquals(Main.EXIT_USAGE, Main.run(new String[] {"verify"}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage: magent verify host:port"),
                err.toString(StandardCharsets.UTF_8));
        assertEquals(Main.EXIT_USAGE, Main.run(new String[] {"verify", "nonsense", "--no-wait"}, o, e));
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        err.reset();
        assertEquals(Main.EXIT_FAILED, Main.run(new String[] {"verify", "127.0.0.1:1", "--proxy",
                "127.0.0.1:" + closedPort}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("magent: cannot reach the proxy at 127.0.0.1:"),
                err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void verifyWaitsForARunThatIsNotTheOneBefore() {
        String done1 = "127.0.0.1:1 phase=done runs=1 listed=3";
        String running2 = "127.0.0.1:1 phase=running runs=2 listed=1";
        String done2 = "127.0.0.1:1 phase=done runs=2 listed=3";
        assertFalse(VerifyCommand.ended(null, null), "no run yet");
        assertTrue(VerifyCommand.ended(null, done1), "the first run ended");
        assertFalse(VerifyCommand.ended(done1, done1), "still the last run's line");
        assertFalse(VerifyCommand.ended(done1, running2));
        assertTrue(VerifyCommand.ended(done1, done2));
        assertTrue(VerifyCommand.ended(running2, done2), "joined the run going on");
    }
}
