package dev.magent.protocol;

import java.util.Objects;

/**
 * {@code delete <key> [noreply]}.
 *
 * @param key     the key
 * @param noreply whether the client asked for no reply
 */
public record DeleteCommand(byte[] key, boolean noreply) implements Command {
    public DeleteCommand {
        Objects.requireNonNull(key, "key");
    }

    @Override
    public Verb verb() {
        return Verb.DELETE;
    }
}
