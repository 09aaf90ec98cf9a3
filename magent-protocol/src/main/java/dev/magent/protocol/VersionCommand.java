package dev.magent.protocol;

/** {@code version}. */
public record VersionCommand() implements Command {
    /** The only instance needed. */
    public static final VersionCommand INSTANCE = new VersionCommand();

    @Override
    public Verb verb() {
        return Verb.VERSION;
    }
}
