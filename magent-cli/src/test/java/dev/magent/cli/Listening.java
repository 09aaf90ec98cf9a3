package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** Waiting for the packaged daemon, started as a process, to accept connections. */
final class Listening {
    private Listening() {
    }

    /** Returns once something accepts connections on the port; fails if {@code p} exits first, or after 30 s. */
    static void await(Process p, int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("exited with " + p.exitValue() + " before listening on " + port);
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        fail("nothing listening on " + port + " after 30 s");
    }
}
