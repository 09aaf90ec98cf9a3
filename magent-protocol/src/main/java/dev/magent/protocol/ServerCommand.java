package dev.magent.protocol;

import java.util.List;
import java.util.Objects;

/**
 * One of memcached's commands to the server itself rather than to an item: {@code slabs},
 * {@code cache_memlimit}, {@code lru_crawler}, {@code lru}, {@code extstore}, {@code watch},
 * {@code shutdown}, {@code refresh_certs}. The decoder checks only the verb and {@code noreply}; the
 * arguments are checked where the command is answered, since what memcached answers to them depends on the
 * server (a proxy broadcasts some, refuses others).
 *
 * @param verb      one of the verbs above
 * @param arguments the words after the verb, as memcached tokenized them, a last {@code noreply} included
 * @param noreply   whether memcached would answer nothing: the last word is {@code noreply} and the command
 *                  is one of those that look for it (slabs automove, cache_memlimit, lru, extstore, watch)
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public record ServerCommand(Verb verb, List<String> arguments, boolean noreply) implements Command {
    public ServerCommand {
        Objects.requireNonNull(verb, "verb");
        arguments = List.copyOf(Objects.requireNonNull(arguments, "arguments"));
        for (String a : arguments) {
            if (a.isEmpty() || !Wire.oneLine(a) || a.indexOf(' ') >= 0) {
                throw new IllegalArgumentException("not one word: '" + a + "'");
            }
        }
    }

    /** The same command with a last {@code noreply} word dropped and {@code noreply} off, to forward. */
    public ServerCommand withReply() {
        if (!noreply) {
            return this;
        }
        return new ServerCommand(verb, arguments.subList(0, arguments.size() - 1), false);
    }

    /** Argument {@code i}, or the empty string when there are fewer arguments. */
    public String argument(int i) {
        return i < arguments.size() ? arguments.get(i) : "";
    }
}
