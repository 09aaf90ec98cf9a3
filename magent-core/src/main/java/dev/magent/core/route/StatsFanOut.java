package dev.magent.core.route;

import dev.magent.core.ServerAddress;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.core.frontend.ProxyRuntime;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Stat;
import dev.magent.protocol.StatsCommand;
import dev.magent.protocol.StatsReply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.TextReply;
import dev.magent.protocol.ValuesReply;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * {@code stats} and its sub-commands, answered as one memcached holding the whole cache would answer:
 * <ul>
 *   <li>plain {@code stats}: the proxy's own counters and its servers ({@link ProxyRuntime#statsReply});</li>
 *   <li>{@code items}, {@code slabs}, {@code sizes}, {@code conns}: every main's reply, merged
 *       ({@link StatsMerge}); backups are left out, as they hold copies of the mains' items and would count
 *       them twice. {@code settings}: the first main's that answers;</li>
 *   <li>{@code <sub-command> <host:port>}, magent's own form: that one server's reply unchanged, backups
 *       included (memcached ignores words after these sub-commands);</li>
 *   <li>{@code reset}: every server, mains and backups, and the proxy's counters; {@code detail on|off}:
 *       every server; {@code detail dump}: the mains' prefixes summed;</li>
 *   <li>{@code cachedump} is refused as memcached refuses it when dumps are disabled (it lists one server's
 *       keys of one slab class, which a proxy cannot merge); {@code sizes_enable|sizes_disable} answer a STAT
 *       line without END, which no reply parser can delimit, so they are unknown here.</li>
 * </ul>
 * A server that is out of service or fails is left out; when no main answers, the reply is a
 * SERVER_ERROR.
 */
public final class StatsFanOut {
    private static final ErrorReply DETAIL_USAGE = ErrorReply.client("usage: stats detail on|off|dump");
    private static final ErrorReply CACHEDUMP_REFUSED = ErrorReply.client("stats cachedump not allowed");

    private StatsFanOut() {
    }

    public static void answer(ProxyRuntime runtime, Router router, StatsCommand command, Completion sink) {
        String arguments = command.arguments();
        if (arguments.isEmpty()) {
            sink.accept(runtime.statsReply(""), null);
            return;
        }
        // the decoder joined the words with single spaces
        List<String> words = Arrays.asList(arguments.split(" "));
        Cluster cluster = runtime.cluster();
        switch (words.get(0)) {
            case "reset" -> Broadcast.send(router, List.of(cluster.all()), new StatsCommand("reset"), replies -> {
                release(replies);
                runtime.stats().reset();
                sink.accept(TextReply.RESET, null);
            });
            case "detail" -> detail(router, cluster, words, sink);
            case "items" -> perServerOrMerged(router, cluster, command, words, StatsMerge::items, sink);
            case "slabs" -> perServerOrMerged(router, cluster, command, words, StatsMerge::slabs, sink);
            case "sizes" -> perServerOrMerged(router, cluster, command, words, StatsMerge::sizes, sink);
            case "conns" -> perServerOrMerged(router, cluster, command, words, StatsMerge::conns, sink);
            case "settings" -> perServerOrMerged(router, cluster, command, words, all -> all.get(0), sink);
            case "cachedump" -> sink.accept(CACHEDUMP_REFUSED, null);
            default -> sink.accept(ErrorReply.UNKNOWN_COMMAND, null);
        }
    }

    private static void detail(Router router, Cluster cluster, List<String> words, Completion sink) {
        // stats detail on|off|dump: memcached reads the third word and ignores any more
        String what = words.size() < 2 ? "" : words.get(1);
        switch (what) {
            case "on", "off" -> Broadcast.send(router, List.of(cluster.all()), new StatsCommand("detail " + what),
                    replies -> {
                        release(replies);
                        sink.accept(StatusReply.OK, null);
                    });
            case "dump" -> Broadcast.send(router, cluster.mains(), new StatsCommand("detail dump"), replies -> {
                List<String> texts = new ArrayList<>();
                for (Reply r : replies) {
                    if (r instanceof TextReply t) {
                        texts.add(t.text());
                    }
                }
                release(replies);
                sink.accept(new TextReply(StatsMerge.detailDump(texts)), null);
            });
            default -> sink.accept(DETAIL_USAGE, null);
        }
    }

    private static void perServerOrMerged(Router router, Cluster cluster, StatsCommand command, List<String> words,
                                          Function<List<List<Stat>>, List<Stat>> merge, Completion sink) {
        BackendServer one = words.size() == 2 ? serverNamed(cluster, words.get(1)) : null;
        if (one != null) {
            Broadcast.send(router, List.of(one), new StatsCommand(words.get(0)), replies -> {
                Reply r = replies[0];
                if (r == null) {
                    sink.accept(ErrorReply.server("server " + one.address() + " did not answer"), null);
                } else {
                    sink.accept(r == ValuesReply.EMPTY ? new StatsReply(List.of()) : r, null);
                }
            });
            return;
        }
        StatsCommand toEach = new StatsCommand(words.get(0));
        Broadcast.send(router, cluster.mains(), toEach, replies -> {
            List<List<Stat>> answered = new ArrayList<>();
            Reply error = null;
            for (Reply r : replies) {
                if (r instanceof StatsReply s) {
                    answered.add(s.stats());
                } else if (r == ValuesReply.EMPTY) {
                    answered.add(List.of()); // a bare END: no STAT lines, e.g. stats items on an empty server
                } else if (r != null && error == null) {
                    error = r;
                }
            }
            release(replies);
            if (!answered.isEmpty()) {
                sink.accept(new StatsReply(merge.apply(answered)), null);
            } else if (error != null) {
                sink.accept(error, null);
            } else {
                sink.accept(ErrorReply.server("no server available for stats " + toEach.arguments()), null);
            }
        });
    }

    /** The server of the cluster at {@code host:port}, or null if the word names none. */
    private static BackendServer serverNamed(Cluster cluster, String word) {
        if (word.indexOf(':') < 0) {
            return null;
        }
        try {
            return cluster.find(ServerAddress.parse(word));
        } catch (IllegalArgumentException notOne) {
            return null;
        }
    }

    private static void release(Reply[] replies) {
        for (Reply r : replies) {
            ReferenceCountUtil.release(r);
        }
    }
}
