package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.beust.jcommander.Parameter;
import dev.magent.core.ProxyConfig;
import io.netty.util.ResourceLeakDetector;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Main.run for everything that does not start a proxy: the exit code and what reaches the terminal. */
class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "-s foo",
        "-s 127.0.0.1:11211 -p 0",
        "-s 127.0.0.1:11211 --bogus",
        "-s 127.0.0.1:11211 -p",
        "-s 127.0.0.1:11211 -n many",
        "-s 127.0.0.1:11211 -b 127.0.0.1:11211",
    })
    void badCommandLineIsOneLineAndExitCode2(String args) {
        assertEquals(Main.EXIT_USAGE, run(args.isEmpty() ? new String[0] : args.split(" ")));
        String e = err();
        assertTrue(e.startsWith("magent: "), e);
        assertTrue(e.endsWith("\n") && e.indexOf('\n') == e.length() - 1, "exactly one line: " + e);
        assertEquals("", out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-h", "--help"})
    void helpGoesToStdoutAndListsEveryFlag(String flag) {
        assertEquals(Main.EXIT_OK, run(flag));
        assertEquals("", err());
        String help = out();
        for (Field f : CliOptions.class.getDeclaredFields()) {
            Parameter p = f.getAnnotation(Parameter.class);
            if (p == null) {
                continue;
            }
            for (String name : p.names()) {
                assertTrue(help.matches("(?s).*(^|[\\s,])" + java.util.regex.Pattern.quote(name) + "[\\s,=].*"),
                        "help lists " + name);
            }
        }
        assertTrue(help.contains("-v, --verbose"));
    }

    @Test
    void version() {
        assertEquals(Main.EXIT_OK, run("--version"));
        assertTrue(out().matches("magent \\S+\\R"), out());
        assertEquals("", err());
    }

    @Test
    void bindFailureNamesTheAddress() throws Exception {
        ProxyConfig tcp = CliOptions.parse("-s", "127.0.0.1:11211", "-p", "11200").toConfig();
        assertEquals("cannot listen on 127.0.0.1:11200: address already in use", Main.startFailure(tcp,
                new IOException("bind(..) failed with error(-98): Address already in use")));
        assertEquals("cannot listen on 127.0.0.1:11200: address already in use", Main.startFailure(tcp,
                new IOException("cannot listen: Address already in use", new BindException("Address already in use"))));
        ProxyConfig both = CliOptions.parse("-s", "a:1", "-l", "::1", "-f", "/run/m.sock").toConfig();
        assertEquals("cannot listen on [::1]:11211 or /run/m.sock: permission denied", Main.startFailure(both,
                new IOException("bind(..) failed with error(-13): Permission denied")));
        assertEquals("cannot start: interrupted while binding: boom", Main.startFailure(tcp,
                new IOException("interrupted while binding", new IllegalStateException("boom"))));
    }

    @Test
    void theDaemonRunsWithoutNettysLeakDetectorUnlessAsked() {
        ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
        String property = System.getProperty("io.netty.leakDetection.level"); // the build sets paranoid
        try {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
            System.setProperty("io.netty.leakDetection.level", "simple");
            Main.disableLeakDetectionUnlessAsked();
            assertEquals(ResourceLeakDetector.Level.SIMPLE, ResourceLeakDetector.getLevel(), "asked for: kept");
            System.clearProperty("io.netty.leakDetection.level");
            Main.disableLeakDetectionUnlessAsked();
            assertEquals(ResourceLeakDetector.Level.DISABLED, ResourceLeakDetector.getLevel());
        } finally {
            if (property == null) {
                System.clearProperty("io.netty.leakDetection.level");
            } else {
                System.setProperty("io.netty.leakDetection.level", property);
            }
            ResourceLeakDetector.setLevel(before);
        }
    }

    @Test
    void theDaemonTurnsNettysRecyclerOffUnlessAsked() {
        String before = System.getProperty(Main.RECYCLER_CAPACITY);
        try {
            System.setProperty(Main.RECYCLER_CAPACITY, "64");
            Main.disableRecyclerUnlessAsked();
            assertEquals("64", System.getProperty(Main.RECYCLER_CAPACITY), "asked for: kept");
            System.clearProperty(Main.RECYCLER_CAPACITY);
            Main.disableRecyclerUnlessAsked();
            assertEquals("0", System.getProperty(Main.RECYCLER_CAPACITY));
        } finally {
            if (before == null) {
                System.clearProperty(Main.RECYCLER_CAPACITY);
            } else {
                System.setProperty(Main.RECYCLER_CAPACITY, before);
            }
        }
    }
}
