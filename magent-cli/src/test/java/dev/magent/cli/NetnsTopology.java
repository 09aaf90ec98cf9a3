package dev.magent.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The how-to's three hosts as network namespaces, driven through {@code scripts/netns.sh}: host 51 and 52
 * each run a main memcached and a magent, host 68 the backup memcached. Each instance uses its own
 * namespace prefix ({@code mgit<pid>-}), so tests never meet a topology started by hand or by another JVM.
 * Clients reach the proxies through their unix sockets ({@link #proxySocket}).
 */
final class NetnsTopology implements AutoCloseable {
    /** The hosts of the how-to: 51 and 52 run a main and a magent, 68 the backup. */
    static final int H51 = 51;
    static final int H52 = 52;
    static final int H68 = 68;
    static final String NET = "10.251.0";
    private static final Pattern OUR_PREFIX = Pattern.compile("^(mgit(\\d+)-)host\\d+");

    private final Path script;
    private final String prefix;
    private final Map<String, String> env;

    private NetnsTopology(Path script, String prefix, String magentArgs) {
        this.script = script;
        this.prefix = prefix;
        this.env = Map.of("NETNS_PREFIX", prefix, "NETNS_NET", NET,
                "MAGENT_JAR", Path.of(System.getProperty("magent.jar", "target/magent.jar")).toAbsolutePath().toString(),
                "MAGENT_ARGS", magentArgs);
    }

    static Path script() {
        return Path.of(System.getProperty("magent.netns.script", "../scripts/netns.sh")).toAbsolutePath().normalize();
    }

    /**
     * Why namespaces cannot be used here, or empty when they can: needs root, iproute2, memcached and the
     * permission to create a namespace (a container may forbid it).
     */
    static Optional<String> unavailable() {
        try {
            if (!Files.isExecutable(script())) {
                return Optional.of(script() + " not found");
            }
            if (!run(List.of("id", "-u"), Map.of(), 10).output().strip().equals("0")) {
                return Optional.of("not root: network namespaces need root (CI runs as root)");
            }
            if (run(List.of("sh", "-c", "command -v ip && command -v memcached"), Map.of(), 10).exitCode() != 0) {
                return Optional.of("iproute2 (ip) or memcached missing");
            }
            String probe = "mgit" + ProcessHandle.current().pid() + "-probe";
            Result add = run(List.of("ip", "netns", "add", probe), Map.of(), 10);
            run(List.of("ip", "netns", "del", probe), Map.of(), 10);
            if (add.exitCode() != 0) {
                return Optional.of("cannot create a network namespace here: " + add.output().strip());
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("cannot run commands: " + e.getMessage());
        }
    }

    /** Builds the namespaces and starts the three memcached and the two magents, each magent with {@code magentArgs}. */
    static NetnsTopology up(String magentArgs) throws IOException {
        removeLeftovers();
        NetnsTopology t = new NetnsTopology(script(), "mgit" + ProcessHandle.current().pid() + "-", magentArgs);
        try {
            t.netns(120, "up");
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Namespaces left by an earlier test JVM that was killed before its teardown (its pid is gone). */
    private static void removeLeftovers() throws IOException {
        for (String line : run(List.of("ip", "netns", "list"), Map.of(), 10).output().split("\\R")) {
            Matcher m = OUR_PREFIX.matcher(line);
            if (m.find() && ProcessHandle.of(Long.parseLong(m.group(2))).isEmpty()) {
                run(List.of(script().toString(), "down"), Map.of("NETNS_PREFIX", m.group(1)), 60);
            }
        }
    }

    static String address(int host) {
        return NET + "." + host;
    }

    /** The unix socket of the magent on host 51 or 52. */
    Path proxySocket(int host) {
        return Path.of("/run/magent-netns/" + prefix + "default/magent" + host + ".sock");
    }

    /** Cuts the link between two hosts: established connections hang, new connects fail. */
    void cut(int a, int b) throws IOException {
        netns(30, "cut", Integer.toString(a), Integer.toString(b));
    }

    void heal(int a, int b) throws IOException {
        netns(30, "heal", Integer.toString(a), Integer.toString(b));
    }

    /** SIGKILL a service: mc51, mc52, mc68, magent51, magent52. */
    void kill(String service) throws IOException {
        netns(30, "kill", service);
    }

    /** Starts a service again and waits until it listens (memcached comes back empty). */
    void start(String service) throws IOException {
        netns(90, "start", service);
    }

    /** SIGSTOP. */
    void pause(String service) throws IOException {
        netns(30, "pause", service);
    }

    /** SIGCONT. */
    void resume(String service) throws IOException {
        netns(30, "resume", service);
    }

    String status() throws IOException {
        return netns(30, "status");
    }

    /** Whether a new TCP connection from one host to a port on another succeeds within 2 s. */
    boolean canConnect(int from, int to, int port) throws IOException {
        return run(List.of("ip", "netns", "exec", prefix + "host" + from, "timeout", "2", "bash", "-c",
                "exec 3<>/dev/tcp/" + address(to) + "/" + port), Map.of(), 10).exitCode() == 0;
    }

    /** The last lines of a service's log, for failure messages. */
    String logTail(String service) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/run/magent-netns/" + prefix + "default/" + service + ".log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private String netns(int timeoutSeconds, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(script.toString()));
        cmd.addAll(List.of(args));
        Result r = run(cmd, env, timeoutSeconds);
        if (r.exitCode() != 0) {
            throw new IOException("netns.sh " + String.join(" ", args) + " exited " + r.exitCode() + ":\n" + r.output());
        }
        return r.output();
    }

    /** Stops every process in the namespaces and deletes them; safe to call twice. */
    @Override
    public void close() throws IOException {
        netns(60, "down");
    }

    private record Result(int exitCode, String output) {
    }

    private static Result run(List<String> cmd, Map<String, String> env, int timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        // output to a file: the services the script starts in the background must not hold a pipe of ours open
        Path out = Files.createTempFile("netns", ".out");
        pb.redirectOutput(out.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " still running after " + timeoutSeconds + " s:\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted running " + cmd, e);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
