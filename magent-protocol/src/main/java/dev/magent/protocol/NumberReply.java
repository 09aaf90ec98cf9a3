package dev.magent.protocol;

/**
 * The new value after incr or decr.
 *
 * @param value an unsigned 64-bit number held in a long (use {@link Long#toUnsignedString})
 */
public record NumberReply(long value) implements Reply {
}
