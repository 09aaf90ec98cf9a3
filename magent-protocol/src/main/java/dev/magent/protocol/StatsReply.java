package dev.magent.protocol;

import java.util.List;
import java.util.Objects;

/**
 * {@code STAT <name> <value>} lines then {@code END}. A client decoder cannot tell an empty stats reply
 * from an empty {@link ValuesReply} (both are a bare {@code END}) and reports the latter.
 *
 * @param stats the statistics in order
 */
public record StatsReply(List<Stat> stats) implements Reply {
    public StatsReply {
        stats = List.copyOf(Objects.requireNonNull(stats, "stats"));
    }
}
