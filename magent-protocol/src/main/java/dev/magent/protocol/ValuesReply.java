package dev.magent.protocol;

import io.netty.util.ReferenceCounted;
import java.util.List;
import java.util.Objects;

/**
 * {@code VALUE …} lines with their data, then {@code END}: the reply to get, gets, gat and gats. An empty
 * list is a plain {@code END} (every key missed).
 *
 * <p>Releasing the reply releases every value's data. The reference count reported is the first value's
 * (1 for an empty reply, which holds nothing).
 *
 * @param values the hits in the order the server sent them
 */
public record ValuesReply(List<Value> values) implements Reply, ReferenceCounted {
    /** {@code END} alone. */
    public static final ValuesReply EMPTY = new ValuesReply(List.of());

    public ValuesReply {
        Objects.requireNonNull(values, "values");
    }

    @Override
    public int refCnt() {
        return values.isEmpty() ? 1 : values.get(0).data().refCnt();
    }

    @Override
    public ValuesReply retain() {
        return retain(1);
    }

    @Override
    public ValuesReply retain(int increment) {
        for (Value v : values) {
            v.data().retain(increment);
        }
        return this;
    }

    @Override
    public ValuesReply touch() {
        return touch(null);
    }

    @Override
    public ValuesReply touch(Object hint) {
        for (Value v : values) {
            v.data().touch(hint);
        }
        return this;
    }

    @Override
    public boolean release() {
        return release(1);
    }

    @Override
    public boolean release(int decrement) {
        boolean allFreed = true;
        for (Value v : values) {
            allFreed &= v.data().release(decrement);
        }
        return allFreed;
    }
}
