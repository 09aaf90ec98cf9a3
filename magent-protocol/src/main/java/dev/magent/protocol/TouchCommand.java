package dev.magent.protocol;

import java.util.Objects;

/**
 * {@code touch <key> <exptime> [noreply]}.
 *
 * @param key     the key
 * @param exptime the new expiry, as in {@link StorageCommand#exptime()}
 * @param noreply whether the client asked for no reply
 */
public record TouchCommand(byte[] key, long exptime, boolean noreply) implements Command {
    public TouchCommand {
        Objects.requireNonNull(key, "key");
    }

    @Override
    public Verb verb() {
        return Verb.TOUCH;
    }
}
