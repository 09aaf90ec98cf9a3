package dev.magent.protocol;

import java.util.Objects;

/**
 * {@code stats [args]}.
 *
 * @param arguments what followed {@code stats} on the line, trimmed; empty for plain {@code stats}
 */
public record StatsCommand(String arguments) implements Command {
    /** Plain {@code stats}. */
    public static final StatsCommand GENERAL = new StatsCommand("");

    public StatsCommand {
        Objects.requireNonNull(arguments, "arguments");
    }

    @Override
    public Verb verb() {
        return Verb.STATS;
    }
}
