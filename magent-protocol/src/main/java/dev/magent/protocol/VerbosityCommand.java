package dev.magent.protocol;

/**
 * {@code verbosity <level> [noreply]}.
 *
 * @param level   the verbosity level
 * @param noreply whether the client asked for no reply
 */
public record VerbosityCommand(int level, boolean noreply) implements Command {
    @Override
    public Verb verb() {
        return Verb.VERBOSITY;
    }
}
