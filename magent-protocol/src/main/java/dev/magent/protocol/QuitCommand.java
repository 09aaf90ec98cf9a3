package dev.magent.protocol;

/** {@code quit}: the server closes the connection without a reply. */
public record QuitCommand() implements Command {
    /** The only instance needed. */
    public static final QuitCommand INSTANCE = new QuitCommand();

    @Override
    public Verb verb() {
        return Verb.QUIT;
    }
}
