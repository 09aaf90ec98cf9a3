package dev.magent.cli;

import dev.magent.core.MagentProxy;
import dev.magent.core.ProxyConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Live reload of the configuration file: on SIGHUP and on {@code magent reload} over the memcached port,
 * the command line is read again with its {@code -c} file as it is now, and the result goes to
 * {@link MagentProxy#reload}. A configuration that cannot be used (a bad file, or a change that needs a
 * restart) is refused and logged, and the one in force stays.
 *
 * <p>Reloads run one at a time on their own thread: {@code MagentProxy.reload} waits for every event loop
 * and probes new servers, so it must not run on an event loop, where {@code magent reload} arrives.
 */
final class ConfigReload {
    private static final Logger log = LoggerFactory.getLogger(ConfigReload.class);

    private final MagentProxy proxy;
    private final String[] args;
    private final String file;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "magent-reload");
        t.setDaemon(true);
        return t;
    });

    private ConfigReload(MagentProxy proxy, String[] args, String file) {
        this.proxy = proxy;
        this.args = args.clone();
        this.file = file;
    }

    /**
     * Handles SIGHUP (which would otherwise stop the JVM) and {@code magent reload}. Without a
     * configuration file both only log that there is nothing to reload.
     */
    static void install(MagentProxy proxy, String[] args, String configFile) {
        ConfigReload reload = new ConfigReload(proxy, args, configFile);
        Signal.handle(new Signal("HUP"), signal -> reload.thread.execute(reload::reloadNow));
        proxy.setReloadAction(reload::request);
    }

    /** The {@code --check-config} verdict for a configuration that was built; checks the TLS files too. */
    static String check(ProxyConfig config, CliOptions options) throws UsageException {
        try {
            if (config.tls() != null) {
                config.tls().newServerContext();
            }
            if (config.backendTls() != null) {
                config.backendTls().newClientContext();
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage().replaceAll("\\s*\\R\\s*", " "));
        }
        return (options.configFile == null ? "the command line" : options.configFile) + " is valid: "
                + config.mains().size() + " main(s) " + config.mains() + ", " + config.backups().size()
                + " backup(s) " + config.backups()
                + (config.furtherBackupPools().isEmpty() ? "" : ", further backup pools " + config.furtherBackupPools())
                + ", " + (config.ketama() ? "ketama" : "modulo") + " hashing";
    }

    /** SIGHUP: reload now, on the reload thread, and log the outcome. */
    private void reloadNow() {
        if (file == null) {
            log.warn("SIGHUP: nothing to reload: magent was started without a configuration file (-c)");
            return;
        }
        try {
            apply(load());
        } catch (UsageException e) {
            refused(e.getMessage());
        }
    }

    /**
     * {@code magent reload}, on an event loop: reads and checks the file now, so the client hears about a
     * bad one; applies it on the reload thread.
     *
     * @return null when the new configuration is being applied, or why it was refused
     */
    private String request() {
        if (file == null) {
            return "magent was started without a configuration file (-c)";
        }
        try {
            ProxyConfig next = load();
            thread.execute(() -> apply(next));
            return null;
        } catch (UsageException e) {
            refused(e.getMessage());
            return e.getMessage();
        }
    }

    /**
     * The command line and the file as they are now. Refuses what needs a restart here, before anything is
     * applied, so that {@code magent reload} can answer with it ({@code reload} itself checks the listeners
     * again, and does not look at admin and TLS).
     */
    private ProxyConfig load() throws UsageException {
        ProxyConfig next = ConfigFile.toConfig(CliOptions.parse(args));
        ProxyConfig current = proxy.config();
        List<String> restart = new ArrayList<>();
        changed(restart, "bind address", current.bindAddress(), next.bindAddress());
        changed(restart, "port", current.port(), next.port());
        changed(restart, "unix socket", current.unixSocket(), next.unixSocket());
        changed(restart, "io threads", current.ioThreads(), next.ioThreads());
        changed(restart, "transport", current.transport(), next.transport());
        changed(restart, "admin", current.admin(), next.admin());
        changed(restart, "tls", current.tls(), next.tls());
        changed(restart, "backend_tls", current.backendTls(), next.backendTls());
        if (!restart.isEmpty()) {
            throw new UsageException("changing " + String.join(", ", restart) + " needs a restart");
        }
        return next;
    }

    private static void changed(List<String> names, String name, Object current, Object next) {
        if (!Objects.equals(current, next)) {
            names.add(name);
        }
    }

    private void apply(ProxyConfig next) {
        try {
            proxy.reload(next);
            log.info("configuration reloaded from {}", file);
        } catch (IllegalArgumentException e) {
            refused(e.getMessage());
        } catch (RuntimeException e) {
            log.error("configuration reload from {} failed", file, e);
        }
    }

    private void refused(String why) {
        log.error("configuration reload refused: {}; the configuration in force is kept", why);
    }
}
