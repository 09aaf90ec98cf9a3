package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A meta-protocol request from a client: {@code mg|md|ma|me <key> <flag>*}, {@code ms <key> <datalen>
 * <flag>*} with its data block, or {@code mn}. The flags stay as written, so that a proxy can forward them
 * (or a rewritten copy) to memcached and get memcached's own reply; what a proxy must know for routing is
 * decoded once: the key to hash ({@link #routingKey()}, base64-decoded under the {@code b} flag) and the
 * {@code q} flag.
 *
 * <p>A flag is known by its first character, as memcached knows it: {@code "O123"} is the opaque flag with
 * the token {@code 123}. The decoder has already checked the flags as memcached 1.6.18 does (known letters,
 * no repeats, numeric tokens); a command built by hand is not checked.
 *
 * <p>Reference counting is delegated to {@link #value()} when there is one ({@code ms}): release the command
 * when done with it.
 *
 * @param verb       {@link Verb#MG}, {@link Verb#MS}, {@link Verb#MD}, {@link Verb#MA}, {@link Verb#MN} or
 *                   {@link Verb#ME}
 * @param key        the key as written on the line (base64 text under {@code b}); empty for {@code mn}
 * @param routingKey the key the item is stored under: {@code key} decoded under {@code b}, else {@code key}
 * @param flags      the flag tokens after the key (after the data length for {@code ms}), as written
 * @param value      the data block of {@code ms}, without its CRLF; null for the other verbs
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt,
 *      "Meta Commands"</a>
 */
public record MetaCommand(Verb verb, byte[] key, byte[] routingKey, List<String> flags, ByteBuf value)
        implements Command, ReferenceCounted {
    private static final byte[] NO_KEY = new byte[0];
    /** {@code mn}: answered {@code MN} once everything before it is answered. */
    public static final MetaCommand NOOP = new MetaCommand(Verb.MN, NO_KEY, NO_KEY, List.of(), null);

    public MetaCommand {
        Objects.requireNonNull(verb, "verb");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(routingKey, "routingKey");
        if (!verb.isMeta()) {
            throw new IllegalArgumentException("not a meta verb: " + verb);
        }
        if ((verb == Verb.MS) != (value != null)) {
            throw new IllegalArgumentException(verb == Verb.MS ? "ms without data" : verb + " with data");
        }
        flags = List.copyOf(flags);
    }

    /** A meta command without data ({@code mg}, {@code md}, {@code ma}, {@code me}) whose key is not base64. */
    public static MetaCommand of(Verb verb, byte[] key, List<String> flags) {
        return new MetaCommand(verb, key, key, flags, null);
    }

    /** Whether a flag with this letter was given, e.g. {@code has('q')}. */
    public boolean has(char letter) {
        return indexOf(letter) >= 0;
    }

    /** The token of the flag with this letter without the letter ({@code "123"} for {@code O123}), or null. */
    public String token(char letter) {
        int i = indexOf(letter);
        return i < 0 ? null : flags.get(i).substring(1);
    }

    /** Whether the client asked for quiet mode ({@code q}): memcached then leaves out the nominal replies. */
    public boolean quiet() {
        return has('q');
    }

    /** Whether the key is written in base64 ({@code b}). */
    public boolean base64() {
        return has('b');
    }

    /**
     * The same command without the flags whose letters are given, sharing (not retaining) the value; this
     * command itself when it has none of them.
     */
    public MetaCommand without(String letters) {
        boolean any = false;
        for (int i = 0; i < letters.length() && !any; i++) {
            any = has(letters.charAt(i));
        }
        if (!any) {
            return this;
        }
        List<String> kept = new ArrayList<>(flags.size());
        for (String f : flags) {
            if (f.isEmpty() || letters.indexOf(f.charAt(0)) < 0) {
                kept.add(f);
            }
        }
        return new MetaCommand(verb, key, routingKey, kept, value);
    }

    /** The same command with one more flag, e.g. {@code with("v")}, sharing (not retaining) the value. */
    public MetaCommand with(String flag) {
        List<String> more = new ArrayList<>(flags.size() + 1);
        more.addAll(flags);
        more.add(flag);
        return new MetaCommand(verb, key, routingKey, more, value);
    }

    /** Another meta command on the same key (same {@code b}), with the given flags and value. */
    public MetaCommand sameKey(Verb newVerb, List<String> newFlags, ByteBuf newValue) {
        List<String> all = newFlags;
        if (base64() && !newFlags.contains("b")) {
            all = new ArrayList<>(newFlags.size() + 1);
            all.add("b");
            all.addAll(newFlags);
        }
        return new MetaCommand(newVerb, key, routingKey, all, newValue);
    }

    private int indexOf(char letter) {
        for (int i = 0; i < flags.size(); i++) {
            String f = flags.get(i);
            if (!f.isEmpty() && f.charAt(0) == letter) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public int refCnt() {
        return value == null ? 1 : value.refCnt();
    }

    @Override
    public MetaCommand retain() {
        return retain(1);
    }

    @Override
    public MetaCommand retain(int increment) {
        if (value != null) {
            value.retain(increment);
        }
        return this;
    }

    @Override
    public MetaCommand touch() {
        return touch(null);
    }

    @Override
    public MetaCommand touch(Object hint) {
        if (value != null) {
            value.touch(hint);
        }
        return this;
    }

    @Override
    public boolean release() {
        return release(1);
    }

    @Override
    public boolean release(int decrement) {
        return value == null || value.release(decrement);
    }
}
