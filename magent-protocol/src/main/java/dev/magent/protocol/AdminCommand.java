package dev.magent.protocol;

import java.util.List;
import java.util.Objects;

/**
 * A proxy's own administrative command, {@code <prefix> <word>*}: not part of memcached's protocol, decoded
 * only when the decoder was given a prefix for it (e.g. {@code magent resync 10.0.0.1:11211}); otherwise
 * such a line is an unknown command like any other.
 *
 * @param arguments the words after the prefix
 */
public record AdminCommand(List<String> arguments) implements Command {
    public AdminCommand {
        arguments = List.copyOf(Objects.requireNonNull(arguments, "arguments"));
    }

    @Override
    public Verb verb() {
        return Verb.ADMIN;
    }
}
