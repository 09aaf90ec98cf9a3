package dev.magent.core;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real memcached on 127.0.0.1 and an ephemeral port, for integration tests. Can be stopped, restarted
 * empty on the same port, and paused with SIGSTOP to simulate a stalled server.
 */
public final class MemcachedProcess implements AutoCloseable {
    private final int port;
    private final List<String> extraArgs;
    private Process process;

    private MemcachedProcess(int port, List<String> extraArgs) {
        this.port = port;
        this.extraArgs = extraArgs;
    }

    /** Starts memcached on a free port and waits until it accepts connections. */
    public static MemcachedProcess start(String... extraArgs) throws IOException {
        MemcachedProcess m = new MemcachedProcess(freePort(), List.of(extraArgs));
        m.launch();
        return m;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String binary() {
        for (String p : List.of("/usr/bin/memcached", "/usr/local/bin/memcached")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return "memcached";
    }

    private void launch() throws IOException {
        List<String> cmd = new ArrayList<>(List.of(binary(), "-U", "0", "-l", "127.0.0.1",
                "-p", Integer.toString(port), "-m", "64", "-c", "4096"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.add("-u");
            cmd.add("root");
        }
        cmd.addAll(extraArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("memcached exited at start with " + process.exitValue() + ": " + cmd);
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.onSpinWait();
            }
        }
        throw new IOException("memcached did not start listening on port " + port);
    }

    public int port() {
        return port;
    }

    public ServerAddress address() {
        return new ServerAddress("127.0.0.1", port);
    }

    public long pid() {
        return process.pid();
    }

    /** Kills the process (SIGKILL) and waits for it to exit. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            resume();
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts a fresh, empty memcached on the same port. */
    public void restart() throws IOException, InterruptedException {
        kill();
        launch();
    }

    /** SIGSTOP: the server keeps its sockets but answers nothing. */
    public void pause() throws IOException, InterruptedException {
        signal("STOP");
        // kill returns once the signal is sent; on a loaded machine memcached may still be running a moment
        // later and answer the next request, which the test meant for a stopped server
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!stopped()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("memcached " + process.pid() + " did not stop within 10 s of SIGSTOP");
            }
            Thread.sleep(1);
        }
    }

    /** Whether every thread of the process is stopped (state T in /proc), as after SIGSTOP. */
    private boolean stopped() throws IOException {
        Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
        try (var threads = Files.list(tasks)) {
            for (Path t : (Iterable<Path>) threads::iterator) {
                String stat = Files.readString(t.resolve("stat"));
                // pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'
                char state = stat.charAt(stat.lastIndexOf(')') + 2);
                if (state != 'T' && state != 't') {
                    return false;
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return false; // a thread ended while we listed them: look again
        }
        return true;
    }

    /** SIGCONT. */
    public void resume() throws InterruptedException {
        try {
            signal("CONT");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("kill -" + name + " failed");
        }
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    /** Polls a condition until it holds or the deadline passes. */
    public static void await(String what, Duration timeout, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
