package dev.magent.cli;

import dev.magent.core.ServerAddress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * {@code magent resync host:port [--proxy host:port]}: asks a running proxy to resync one of its servers,
 * over the memcached port with the proxy's own {@code magent resync} command.
 */
final class ResyncCommand {
    private ResyncCommand() {
    }

    /** The server to act on and the proxy to ask, from {@code host:port [--proxy host:port]}. */
    record Target(ServerAddress server, ServerAddress proxy) {
    }

    /** Parses the arguments, or prints the usage and returns null. */
    static Target parse(String usage, String[] args, PrintStream err) {
        String server = null;
        String proxy = "127.0.0.1:11211";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--proxy") && i + 1 < args.length) {
                proxy = args[++i];
            } else if (server == null && !args[i].startsWith("-")) {
                server = args[i];
            } else {
                err.println("magent: usage: " + usage);
                return null;
            }
        }
        if (server == null) {
            err.println("magent: usage: " + usage);
            return null;
        }
        try {
            return new Target(ServerAddress.parse(server), ServerAddress.parse(proxy));
        } catch (IllegalArgumentException e) {
            err.println("magent: " + e.getMessage());
            return null;
        }
    }

    /** A connection to the proxy's memcached port, answers read line by line. */
    static Socket connect(ServerAddress via) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(via.host(), via.port()), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Sends one line and reads the first line of the answer. */
    static String call(Socket s, BufferedReader in, String line) throws IOException {
        OutputStream o = s.getOutputStream();
        o.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        o.flush();
        return in.readLine();
    }

    static BufferedReader reader(Socket s) throws IOException {
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Target t = parse("magent resync host:port [--proxy host:port]", args, err);
        if (t == null) {
            return Main.EXIT_USAGE;
        }
        try (Socket s = connect(t.proxy())) {
            String reply = call(s, reader(s), "magent resync " + t.server());
            if ("OK".equals(reply)) {
                out.println("resync of " + t.server() + " started on the proxy at " + t.proxy()
                        + " (progress: 'stats' shows STAT resync_N)");
                return Main.EXIT_OK;
            }
            err.println("magent: the proxy at " + t.proxy() + " answered: " + reply);
            return Main.EXIT_FAILED;
        } catch (IOException e) {
            err.println("magent: cannot reach the proxy at " + t.proxy() + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }
}
