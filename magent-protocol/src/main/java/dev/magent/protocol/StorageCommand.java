package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.Objects;

/**
 * {@code <set|add|replace|append|prepend> <key> <flags> <exptime> <bytes> [noreply]} and
 * {@code cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]}, each followed by the data block.
 *
 * <p>Reference counting is delegated to {@link #value()}: release the command when done with it.
 *
 * @param verb      a storage verb ({@link Verb#isStorage()})
 * @param key       the key
 * @param flags     the opaque 32-bit client flags, as an unsigned value held in an int
 * @param exptime   memcached's exptime: 0 never, seconds up to 30 days, a unix time beyond, negative expired
 * @param casUnique the cas unique for {@link Verb#CAS}; 0 for the other verbs
 * @param value     the data block without its trailing CRLF
 * @param noreply   whether the client asked for no reply
 */
public record StorageCommand(Verb verb, byte[] key, int flags, long exptime, long casUnique, ByteBuf value,
                             boolean noreply) implements Command, ReferenceCounted {
    public StorageCommand {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (!verb.isStorage()) {
            throw new IllegalArgumentException("not a storage verb: " + verb);
        }
    }

    /** A {@code set} without cas and with a reply. */
    public static StorageCommand set(byte[] key, int flags, long exptime, ByteBuf value) {
        return new StorageCommand(Verb.SET, key, flags, exptime, 0, value, false);
    }

    /** The same command with another verb and cas unique, sharing (not retaining) the value. */
    public StorageCommand withVerb(Verb newVerb, long newCasUnique) {
        return new StorageCommand(newVerb, key, flags, exptime, newCasUnique, value, noreply);
    }

    /** The same command asking for a reply or not, sharing (not retaining) the value. */
    public StorageCommand withNoreply(boolean newNoreply) {
        return new StorageCommand(verb, key, flags, exptime, casUnique, value, newNoreply);
    }

    @Override
    public int refCnt() {
        return value.refCnt();
    }

    @Override
    public StorageCommand retain() {
        value.retain();
        return this;
    }

    @Override
    public StorageCommand retain(int increment) {
        value.retain(increment);
        return this;
    }

    @Override
    public StorageCommand touch() {
        value.touch();
        return this;
    }

    @Override
    public StorageCommand touch(Object hint) {
        value.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return value.release();
    }

    @Override
    public boolean release(int decrement) {
        return value.release(decrement);
    }
}
