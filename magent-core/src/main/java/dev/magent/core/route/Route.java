package dev.magent.core.route;

import dev.magent.core.backend.Completion;
import dev.magent.protocol.Command;

/**
 * One routing policy (replicated write, fail-over read, cas, arithmetic, broadcast, multi-get), as
 * mcrouter's route handles: small, composed per command by the {@link Router}, tested one at a time
 * against fake backends. A route takes ownership of the command and answers through {@code sink} exactly
 * once, on the router's loop, with a reply (errors are {@code ErrorReply} values, never exceptions).
 */
interface Route {
    void route(Command command, Completion sink);
}
