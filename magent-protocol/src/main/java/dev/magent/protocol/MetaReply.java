package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.List;
import java.util.Objects;

/**
 * A meta-protocol reply: {@code VA <size> <flag>*} with data, or {@code HD|EN|NF|NS|EX|MN <flag>*}, or
 * {@code me}'s debug line {@code ME <key> <k>=<v>*} (whose "flags" are then the key and the pairs).
 *
 * <p>Releasing the reply releases its data, if any.
 *
 * @param code  the two-letter status code, e.g. {@code "VA"} or {@code "EN"}
 * @param flags the returned flags as written, e.g. {@code ["t100", "f5"]}; text of one char per byte
 *              (ISO-8859-1), since a returned key may hold any byte
 * @param data  the value for {@code VA}, else {@code null}
 */
public record MetaReply(String code, List<String> flags, ByteBuf data) implements Reply, ReferenceCounted {
    public MetaReply {
        Objects.requireNonNull(code, "code");
        flags = List.copyOf(flags);
    }

    /** True for {@code VA} and {@code HD}: the item exists. */
    public boolean hit() {
        return code.equals("VA") || code.equals("HD");
    }

    /**
     * The token of a returned flag without its letter, e.g. {@code flag('t')} is {@code "100"} for
     * {@code t100}; {@code null} when the flag is absent.
     */
    public String flag(char letter) {
        for (String f : flags) {
            if (!f.isEmpty() && f.charAt(0) == letter) {
                return f.substring(1);
            }
        }
        return null;
    }

    @Override
    public int refCnt() {
        return data == null ? 1 : data.refCnt();
    }

    @Override
    public MetaReply retain() {
        return retain(1);
    }

    @Override
    public MetaReply retain(int increment) {
        if (data != null) {
            data.retain(increment);
        }
        return this;
    }

    @Override
    public MetaReply touch() {
        return touch(null);
    }

    @Override
    public MetaReply touch(Object hint) {
        if (data != null) {
            data.touch(hint);
        }
        return this;
    }

    @Override
    public boolean release() {
        return release(1);
    }

    @Override
    public boolean release(int decrement) {
        return data == null || data.release(decrement);
    }
}
