package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * libmemcached's protocol conformance tool, {@code memccapable -a} (ASCII tests) and {@code memccapable -b}
 * (binary tests), against memcached directly and against magent over two mains and a backup
 * (docs/reliability.md, "MemccapableIT"): every test that passes directly must pass through magent, except
 * those listed in {@link #EXCEPTIONS}.
 */
class MemccapableIT {
    private static final List<Path> BINARIES = List.of(Path.of("/usr/bin/memccapable"), Path.of("/usr/local/bin/memccapable"));
    /**
     * memccapable tests that pass against memcached but are expected to fail through magent, with the
     * reason (also in docs/reliability.md). Empty: none known.
     */
    private static final Map<String, String> EXCEPTIONS = Map.of();
    /** memccapable prints "ascii set                               [pass]" (or "binary set") per test. */
    private static final Pattern RESULT =
            Pattern.compile("^((?:ascii|binary) [^\\[]*?)\\s+\\[(\\w+)\\]\\s*$", Pattern.MULTILINE);

    private ProxyFixture cluster;
    private MemcachedProcess reference;
    private Path binary;

    @BeforeEach
    void start() throws Exception {
        binary = BINARIES.stream().filter(Files::isExecutable).findFirst().orElse(null);
        Assumptions.assumeTrue(binary != null, "memccapable is not installed (apt-get install libmemcached-tools)");
        cluster = ProxyFixture.start(2, 1);
        reference = cluster.reference();
    }

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Runs memccapable with -a or -b against a port; returns test name → pass/FAIL/skip, in its order. */
    private Map<String, String> run(String mode, int port, String target) throws IOException, InterruptedException {
        Path log = Files.createTempFile("memccapable-", ".log");
        try {
            Process p = new ProcessBuilder(binary.toString(), mode, "-t", "5", "-h", "127.0.0.1", "-p",
                    Integer.toString(port)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("memccapable against " + target + " did not finish:\n" + Files.readString(log));
            }
            String text = Files.readString(log, StandardCharsets.UTF_8);
            System.out.println("memccapable " + mode + " against " + target + " (exit " + p.exitValue() + "):\n" + text);
            return parse(text, target);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static Map<String, String> parse(String text, String target) {
        Map<String, String> results = new LinkedHashMap<>();
        Matcher m = RESULT.matcher(text);
        while (m.find()) {
            results.put(m.group(1).trim(), m.group(2));
        }
        assertFalse(results.isEmpty(), "no results parsed from memccapable against " + target + ":\n" + text);
        return results;
    }

    @ParameterizedTest(name = "memccapable {0}")
    @ValueSource(strings = {"-a", "-b"})
    void everyTestThatPassesAgainstMemcachedPassesThroughMagent(String mode) throws Exception {
        Map<String, String> direct = run(mode, reference.port(), "memcached");
        MagentProxy proxy = cluster.proxy();
        Map<String, String> proxied = run(mode, ProxyFixture.port(proxy), "magent");

        List<String> regressions = new ArrayList<>();
        int passedDirect = 0;
        int passedProxied = 0;
        for (Map.Entry<String, String> e : direct.entrySet()) {
            boolean passDirect = e.getValue().equals("pass");
            String viaProxy = proxied.getOrDefault(e.getKey(), "missing");
            passedDirect += passDirect ? 1 : 0;
            passedProxied += viaProxy.equals("pass") ? 1 : 0;
            if (passDirect && !viaProxy.equals("pass") && !EXCEPTIONS.containsKey(e.getKey())) {
                regressions.add(e.getKey() + ": " + viaProxy);
            }
        }
        System.out.printf("MEASURED: memccapable %s: %d/%d tests pass against %s, %d/%d through magent "
                        + "(2 mains + 1 backup); failing through magent only: %s%n", mode, passedDirect, direct.size(),
                versionOf(), passedProxied, proxied.size(), regressions);
        assertTrue(regressions.isEmpty(), "tests that pass against memcached but fail through magent: " + regressions);
        assertTrue(Set.copyOf(proxied.keySet()).containsAll(direct.keySet()), "every test ran through magent");
    }

    private static String versionOf() {
        try {
            Process p = new ProcessBuilder("memcached", "-V").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return v;
        } catch (IOException | InterruptedException e) {
            return "(version unknown)";
        }
    }
}
