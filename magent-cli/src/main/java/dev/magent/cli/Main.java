package dev.magent.cli;

import com.beust.jcommander.JCommander;
import com.beust.jcommander.ParameterException;
import dev.magent.core.MagentProxy;
import dev.magent.core.ProxyConfig;
import java.io.IOException;
import java.io.PrintStream;

/**
 * The magent daemon: parses C magent's flags, starts the proxy, and shuts it down gracefully on SIGTERM
 * or SIGINT. Errors in the flags are one line on stderr and exit code 2; a listener that cannot bind is
 * exit code 1. A memcached server that is merely unreachable is not an error: the proxy starts and
 * serves from the other copies.
 */
public final class Main {
    static final int EXIT_USAGE = 2;
    static final int EXIT_FAILED = 1;

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        if (code >= 0) {
            System.exit(code);
        }
    }

    /** Parses and validates; returns the options or null after printing one line on {@code err}. */
    static CliOptions parse(String[] args, PrintStream err) {
        CliOptions options = new CliOptions();
        try {
            JCommander.newBuilder().addObject(options).programName("magent").build().parse(args);
            return options;
        } catch (ParameterException e) {
            err.println("magent: " + e.getMessage() + " (see magent --help)");
            return null;
        }
    }

    /**
     * Runs the daemon; returns an exit code, or -1 once the proxy has started and stopped normally from a
     * signal (then the JVM exits on its own).
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        CliOptions options = parse(args, err);
        if (options == null) {
            return EXIT_USAGE;
        }
        if (options.help) {
            StringBuilder sb = new StringBuilder();
            JCommander.newBuilder().addObject(new CliOptions()).programName("magent").build().getUsageFormatter()
                    .usage(sb);
            out.print(sb);
            out.println("-u/-g: a JVM cannot drop privileges after start; run magent as an unprivileged user"
                    + " (systemd User=/Group=).");
            return 0;
        }
        if (options.version) {
            out.println("magent " + MagentProxy.version());
            return 0;
        }
        ProxyConfig config;
        try {
            config = options.toConfig();
        } catch (IllegalArgumentException e) {
            err.println("magent: " + e.getMessage());
            return EXIT_USAGE;
        }
        // before the first logger exists, so that slf4j-simple picks it up
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", options.logLevel());
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Main.class);
        if (options.user != null || options.group != null) {
            log.warn("-u/-g ignored: a JVM cannot drop privileges after start; run magent as an unprivileged "
                    + "user instead (e.g. systemd User=/Group=)");
        }
        MagentProxy proxy;
        try {
            proxy = MagentProxy.start(config);
        } catch (IOException | IllegalArgumentException e) {
            err.println("magent: " + e.getMessage());
            return EXIT_FAILED;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "magent-shutdown"));
        try {
            proxy.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }
}
