package dev.magent.core.backend;

import dev.magent.core.backend.Completion;
import dev.magent.protocol.Reply;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One retrieval sent as several, one per key-affine connection of a server, answered as one: the hits of
 * every part in the request's key order, as the server would have sent them. The first failure, or the
 * first reply that is not values, answers for the whole.
 */
public final class SplitRetrieval {
    private final List<byte[]> keys;
    private final int[] wayOf;
    private final Reply[] parts;
    private final Completion promise;
    private int pending;
    private Throwable failure;
    private Reply error;

    public SplitRetrieval(List<byte[]> keys, int[] wayOf, int ways, Completion promise) {
        this.keys = keys;
        this.wayOf = wayOf;
        this.parts = new Reply[ways];
        this.promise = promise;
        boolean[] used = new boolean[ways];
        for (int w : wayOf) {
            if (!used[w]) {
                used[w] = true;
                pending++;
            }
        }
    }

    public void answered(int way, Reply reply, Throwable cause) {
        if (cause != null) {
            if (failure == null && error == null) {
                failure = cause;
            }
        } else if (reply instanceof ValuesReply) {
            parts[way] = reply;
        } else if (failure == null && error == null) {
            error = reply;
        } else {
            ReferenceCountUtil.release(reply);
        }
        if (--pending > 0) {
            return;
        }
        if (failure != null || error != null) {
            for (Reply p : parts) {
                ReferenceCountUtil.release(p);
            }
            promise.accept(error, failure);
            return;
        }
        promise.accept(merge(), null);
    }

    /** Each part's hits are in its own key order: one cursor per part walks them in the request's order. */
    private ValuesReply merge() {
        int[] cursor = new int[parts.length];
        List<Value> hits = new ArrayList<>();
        for (int i = 0; i < wayOf.length; i++) {
            List<Value> part = ((ValuesReply) parts[wayOf[i]]).values();
            int c = cursor[wayOf[i]];
            if (c < part.size() && Arrays.equals(part.get(c).key(), keys.get(i))) {
                hits.add(part.get(c));
                cursor[wayOf[i]] = c + 1;
            }
        }
        for (int w = 0; w < parts.length; w++) {
            if (parts[w] != null) {
                List<Value> part = ((ValuesReply) parts[w]).values();
                for (int c = cursor[w]; c < part.size(); c++) {
                    part.get(c).data().release(); // a value nobody asked for
                }
            }
        }
        return hits.isEmpty() ? ValuesReply.EMPTY : new ValuesReply(hits);
    }
}
