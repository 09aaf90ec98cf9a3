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

    static int run(String[] args, PrintStream out, PrintStream err) {
        String server = null;
        String proxy = "127.0.0.1:11211";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--proxy") && i + 1 < args.length) {
                proxy = args[++i];
            } else if (server == null && !args[i].startsWith("-")) {
                server = args[i];
            } else {
                err.println("magent: usage: magent resync host:port [--proxy host:port]");
                return Main.EXIT_USAGE;
            }
        }
        if (server == null) {
            err.println("magent: usage: magent resync host:port [--proxy host:port]");
            return Main.EXIT_USAGE;
        }
        ServerAddress target;
        ServerAddress via;
        try {
            target = ServerAddress.parse(server);
            via = ServerAddress.parse(proxy);
        } catch (IllegalArgumentException e) {
            err.println("magent: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(via.host(), via.port()), 5000);
            s.setSoTimeout(10_000);
            OutputStream o = s.getOutputStream();
            o.write(("magent resync " + target + "\r\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
            String reply = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            if ("OK".equals(reply)) {
                out.println("resync of " + target + " started on the proxy at " + via
                        + " (progress: 'stats' shows STAT resync_N)");
                return Main.EXIT_OK;
            }
            err.println("magent: the proxy at " + via + " answered: " + reply);
            return Main.EXIT_FAILED;
        } catch (IOException e) {
            err.println("magent: cannot reach the proxy at " + via + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }
}
