package dev.magent.protocol;

import java.util.Objects;

/**
 * {@code incr|decr <key> <value> [noreply]}.
 *
 * @param verb    {@link Verb#INCR} or {@link Verb#DECR}
 * @param key     the key
 * @param delta   the amount, an unsigned 64-bit number held in a long (use {@link Long#toUnsignedString})
 * @param noreply whether the client asked for no reply
 */
public record ArithmeticCommand(Verb verb, byte[] key, long delta, boolean noreply) implements Command {
    public ArithmeticCommand {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(key, "key");
        if (verb != Verb.INCR && verb != Verb.DECR) {
            throw new IllegalArgumentException("not incr or decr: " + verb);
        }
    }
}
