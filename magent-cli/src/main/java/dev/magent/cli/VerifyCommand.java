package dev.magent.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.util.Arrays;

/**
 * {@code magent verify host:port [--proxy host:port] [--no-wait]}: asks a running proxy to compare one of
 * its servers with the other copies and repair the differences ({@code magent verify} over the memcached
 * port), then follows the run in {@code stats} until it ends and prints its counts. Exits 0 when the run
 * ended, 1 when it failed or could not start.
 */
final class VerifyCommand {
    static final String USAGE = "magent verify host:port [--proxy host:port] [--no-wait]";
    private static final long POLL_MILLIS = 500;

    private VerifyCommand() {
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        boolean wait = !Arrays.asList(args).contains("--no-wait");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--no-wait")).toArray(String[]::new);
        ResyncCommand.Target t = ResyncCommand.parse(USAGE, rest, err);
        if (t == null) {
            return Main.EXIT_USAGE;
        }
        try (Socket s = ResyncCommand.connect(t.proxy())) {
            BufferedReader in = ResyncCommand.reader(s);
            String before = verifyLine(s, in, t);
            String reply = ResyncCommand.call(s, in, "magent verify " + t.server());
            if (!"OK".equals(reply)) {
                err.println("magent: the proxy at " + t.proxy() + " answered: " + reply);
                return Main.EXIT_FAILED;
            }
            if (!wait) {
                out.println("verify of " + t.server() + " started on the proxy at " + t.proxy()
                        + " (progress: 'stats' shows STAT verify_N)");
                return Main.EXIT_OK;
            }
            // the run is over once its line shows another run than before (or the one that was going) ended
            String line = verifyLine(s, in, t);
            while (!ended(before, line)) {
                Thread.sleep(POLL_MILLIS);
                line = verifyLine(s, in, t);
            }
            out.println("verify of " + t.server() + ": " + line);
            return line.contains("phase=done") ? Main.EXIT_OK : Main.EXIT_FAILED;
        } catch (IOException e) {
            err.println("magent: cannot reach the proxy at " + t.proxy() + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILED;
        }
    }

    /** Whether {@code now} shows a finished run that is not the finished run {@code before} showed. */
    static boolean ended(String before, String now) {
        if (now == null || now.contains("phase=running")) {
            return false;
        }
        return before == null || before.contains("phase=running") || !field(before, "runs").equals(field(now, "runs"));
    }

    /** The server's {@code STAT verify_N <host:port> ...} line without its name, or null before any run. */
    private static String verifyLine(Socket s, BufferedReader in, ResyncCommand.Target t) throws IOException {
        String found = null;
        String line = ResyncCommand.call(s, in, "stats");
        String prefix = " " + t.server() + " ";
        while (line != null && !line.equals("END")) {
            if (line.startsWith("STAT verify_") && line.contains(prefix)) {
                found = line.substring(line.indexOf(prefix) + 1);
            }
            line = in.readLine();
        }
        return found;
    }

    private static String field(String line, String name) {
        for (String word : line.split(" ")) {
            if (word.startsWith(name + "=")) {
                return word.substring(name.length() + 1);
            }
        }
        return "";
    }
}
