package dev.magent.protocol;

import java.util.Objects;

/**
 * One {@code STAT <name> <value>} line.
 *
 * @param name  the statistic's name, without spaces
 * @param value the value as text (may contain spaces)
 */
public record Stat(String name, String value) {
    public Stat {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
    }
}
