package dev.magent.core.route;

import dev.magent.core.backend.BackendServer;
import dev.magent.protocol.Command;
import dev.magent.protocol.Reply;
import java.util.List;
import java.util.function.Consumer;

/**
 * One command to several servers, as flush_all goes to every server: the replies are gathered in the
 * order of the servers, null for a server that is out of service or failed, and handed over once all are
 * in, on the router's loop. For the administrative commands and stats, which are rare: no effort is made
 * to avoid allocation.
 */
public final class Broadcast {
    private Broadcast() {
    }

    /**
     * Sends {@code command} (not reference-counted) to each server through {@code router}'s connections.
     *
     * @param done gets one reply per server, null where there is none; it releases them
     */
    public static void send(Router router, List<BackendServer> servers, Command command, Consumer<Reply[]> done) {
        Reply[] replies = new Reply[servers.size()];
        if (replies.length == 0) {
            done.accept(replies);
            return;
        }
        int[] pending = {replies.length};
        for (int i = 0; i < replies.length; i++) {
            int at = i;
            router.send(servers.get(i), command, (reply, failure) -> {
                replies[at] = failure == null ? reply : null;
                if (--pending[0] == 0) {
                    done.accept(replies);
                }
            });
        }
    }
}
