package dev.magent.core.frontend;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Completion;
import dev.magent.core.route.Broadcast;
import dev.magent.core.route.Router;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.ServerCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.TextReply;
import dev.magent.protocol.VerbosityCommand;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * memcached's commands to the server itself, answered as memcached 1.6 answers them. An operator who sends
 * one to the proxy means every server behind it, so the settings go to every server, mains and backups:
 * {@code verbosity}, {@code slabs automove|reassign}, {@code cache_memlimit}, {@code lru_crawler
 * crawl|sleep|tocrawl|enable|disable}, {@code lru tune|mode|temp_ttl}, {@code extstore}. The servers check
 * the arguments, so bad ones get memcached's own errors; the answer is the servers' common answer, or the
 * first that is not {@code OK} when they differ (e.g. one server has no spare page to reassign).
 *
 * <p>The commands that would take over the connection or the server are refused with the answer memcached
 * gives when they are turned off: {@code watch} (a log stream of one server), {@code lru_crawler metadump}
 * (one server's keys; the proxy uses it itself to resync), {@code shutdown} (it would stop the servers,
 * not the proxy) and {@code refresh_certs} (the proxy's client side reloads no certificates).
 */
final class AdminCommands {
    static final ErrorReply WATCH_REFUSED = ErrorReply.client("watch commands not allowed");
    static final TextReply SHUTDOWN_REFUSED = TextReply.line("ERROR: shutdown not enabled");
    static final ErrorReply METADUMP_REFUSED = new ErrorReply(ErrorReply.Kind.ERROR, "metadump not allowed");
    static final TextReply NO_TLS = TextReply.line("Error TLS not enabled");

    private AdminCommands() {
    }

    /** Answers a {@link VerbosityCommand} or a {@link ServerCommand}. */
    static void answer(ProxyRuntime runtime, Router router, Command command, Completion sink) {
        List<BackendServer> every = List.of(runtime.cluster().all());
        if (command instanceof VerbosityCommand v) {
            // memcached answers OK to any level it can parse (the decoder did): so does the proxy
            Broadcast.send(router, every, new VerbosityCommand(v.level(), false), replies -> {
                release(replies);
                sink.accept(StatusReply.OK, null);
            });
            return;
        }
        ServerCommand c = (ServerCommand) command;
        Reply refusal = refusal(c);
        if (refusal != null) {
            sink.accept(refusal, null);
            return;
        }
        Broadcast.send(router, every, c.withReply(), replies -> sink.accept(combine(replies), null));
    }

    /** The proxy's own answer to a command it must not pass on, or null to broadcast it. */
    static Reply refusal(ServerCommand c) {
        return switch (c.verb()) {
            case WATCH -> WATCH_REFUSED;
            case SHUTDOWN -> SHUTDOWN_REFUSED;
            case REFRESH_CERTS -> NO_TLS;
            // lru_crawler metadump <classes>: the same token count memcached matches on
            case LRU_CRAWLER -> c.arguments().size() == 2 && c.argument(0).equals("metadump") ? METADUMP_REFUSED
                    : null;
            default -> null;
        };
    }

    /**
     * One answer for all: the common answer, else the first (in server order) that is not {@code OK};
     * SERVER_ERROR when no server answered. Takes ownership of the replies.
     */
    static Reply combine(Reply[] replies) {
        Reply first = null;
        Reply firstNotOk = null;
        boolean differ = false;
        for (Reply r : replies) {
            if (r == null) {
                continue;
            }
            if (first == null) {
                first = r;
            } else if (!first.equals(r)) {
                differ = true;
            }
            if (firstNotOk == null && r != StatusReply.OK) {
                firstNotOk = r;
            }
        }
        Reply answer = first == null ? ErrorReply.server("no server available")
                : differ && firstNotOk != null ? firstNotOk : first;
        for (Reply r : replies) {
            if (r != answer) {
                ReferenceCountUtil.release(r);
            }
        }
        return answer;
    }

    private static void release(Reply[] replies) {
        for (Reply r : replies) {
            ReferenceCountUtil.release(r);
        }
    }
}
