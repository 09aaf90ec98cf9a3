package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * libmemcached's load generator, memcaslap (memaslap), runs through magent unchanged: its keys begin with
 * binary bytes (control characters included), which magent takes as memcached does. Three seconds over two
 * mains and a backup, with a tenth of the gets verified: no misses, no failed verification, no errors.
 */
class MemcaslapIT {
    private static final List<Path> BINARIES = List.of(Path.of("/usr/bin/memcaslap"), Path.of("/usr/bin/memaslap"),
            Path.of("/usr/local/bin/memcaslap"), Path.of("/usr/local/bin/memaslap"));
    private static final Pattern COUNTER = Pattern.compile("^(cmd_get|cmd_set|get_misses|verify_misses|verify_failed): (\\d+)$",
            Pattern.MULTILINE);

    private ProxyFixture cluster;
    private Path binary;

    @BeforeEach
    void start() throws Exception {
        binary = BINARIES.stream().filter(Files::isExecutable).findFirst().orElse(null);
        Assumptions.assumeTrue(binary != null, "memcaslap is not installed (apt-get install libmemcached-tools)");
        cluster = ProxyFixture.start(2, 1);
    }

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void memcaslapRunsThroughMagentWithoutErrors() throws Exception {
        MagentProxy proxy = cluster.proxy();
        Path log = Files.createTempFile("memcaslap-", ".log");
        try {
            Process p = new ProcessBuilder(binary.toString(), "-s", "127.0.0.1:" + ProxyFixture.port(proxy),
                    "-t", "3s", "-T", "1", "-c", "8", "-v", "0.1")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("memcaslap did not finish:\n" + Files.readString(log));
            }
            String out = Files.readString(log, StandardCharsets.ISO_8859_1);
            System.out.println("memcaslap through magent (exit " + p.exitValue() + "):\n" + out);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("Run time:"), out);
            Matcher m = COUNTER.matcher(out);
            int counters = 0;
            while (m.find()) {
                counters++;
                long n = Long.parseLong(m.group(2));
                if (m.group(1).startsWith("cmd_")) {
                    assertTrue(n > 0, m.group() + "\n" + out);
                } else {
                    assertEquals(0, n, m.group() + "\n" + out);
                }
            }
            assertEquals(5, counters, out);
            for (String line : out.split("\n")) {
                String l = line.toLowerCase();
                if ((l.contains("error") || l.contains("fail") || l.contains("timeout")) && !l.startsWith("verify_failed: 0")) {
                    fail("memcaslap reported: " + line + "\n" + out);
                }
            }
            // the proxy saw the load and no bad input
            assertTrue(proxy.stats().commands(dev.magent.protocol.Verb.SET) > 0);
            assertEquals(0, proxy.stats().protocolErrors());
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
