package dev.magent.protocol;

/**
 * {@code flush_all [delay] [noreply]}.
 *
 * @param delay   seconds before the flush, or {@link #NO_DELAY} when the request gave none
 * @param noreply whether the client asked for no reply
 */
public record FlushAllCommand(long delay, boolean noreply) implements Command {
    /** Marks a flush_all written without a delay argument. */
    public static final long NO_DELAY = -1;

    public FlushAllCommand {
        if (delay < NO_DELAY) {
            throw new IllegalArgumentException("negative delay: " + delay);
        }
    }

    @Override
    public Verb verb() {
        return Verb.FLUSH_ALL;
    }
}
