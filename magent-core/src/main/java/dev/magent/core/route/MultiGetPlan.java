package dev.magent.core.route;

import dev.magent.hashing.Ring;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a multi-key retrieval splits over servers: one group of key positions per server, each group in the
 * client's key order, and the merge of the servers' hits back into that order. Pure computation, no I/O,
 * so it can be tested and benchmarked on its own.
 */
public final class MultiGetPlan {
    private final int[] servers;
    private final int[][] positions;

    private MultiGetPlan(int[] servers, int[][] positions) {
        this.servers = servers;
        this.positions = positions;
    }

    /** Groups the keys by the server the ring places them on. */
    public static MultiGetPlan of(Ring ring, List<byte[]> keys) {
        int[] owner = new int[keys.size()];
        for (int i = 0; i < owner.length; i++) {
            owner[i] = ring.indexFor(keys.get(i));
        }
        return group(owner, ring.servers().size());
    }

    /**
     * Groups positions by owner: {@code owner[i]} is the server index of position i, or -1 to leave that
     * position out. A counting sort: linear in the number of keys.
     */
    public static MultiGetPlan group(int[] owner, int serverCount) {
        int[] count = new int[serverCount];
        int groups = 0;
        for (int o : owner) {
            if (o >= 0 && count[o]++ == 0) {
                groups++;
            }
        }
        int[] servers = new int[groups];
        int[][] positions = new int[groups][];
        int[] groupOf = new int[serverCount];
        Arrays.fill(groupOf, -1);
        int g = 0;
        // groups ordered by their first key, so requests go out in the client's order
        for (int o : owner) {
            if (o >= 0 && groupOf[o] < 0) {
                groupOf[o] = g;
                servers[g] = o;
                positions[g] = new int[count[o]];
                g++;
            }
        }
        int[] fill = new int[groups];
        for (int i = 0; i < owner.length; i++) {
            int o = owner[i];
            if (o >= 0) {
                int k = groupOf[o];
                positions[k][fill[k]++] = i;
            }
        }
        return new MultiGetPlan(servers, positions);
    }

    public int groupCount() {
        return servers.length;
    }

    /** The server index of a group. */
    public int server(int group) {
        return servers[group];
    }

    /** The key positions of a group, ascending. */
    public int[] positions(int group) {
        return positions[group];
    }

    /**
     * Places a server's hits at their positions: a server answers in request order and omits misses, so
     * one pass matches them. Values matching no position are released. Returns the positions that missed.
     */
    public static int[] collect(List<byte[]> keys, int[] positions, List<Value> values, Value[] into) {
        int[] misses = new int[positions.length];
        int missCount = 0;
        int cursor = 0;
        for (int pos : positions) {
            if (cursor < values.size() && Arrays.equals(values.get(cursor).key(), keys.get(pos))) {
                if (into[pos] != null) {
                    into[pos].data().release();
                }
                into[pos] = values.get(cursor++);
            } else {
                misses[missCount++] = pos;
            }
        }
        for (int i = cursor; i < values.size(); i++) {
            values.get(i).data().release(); // a value we did not ask for: not ours to forward
        }
        return missCount == misses.length ? misses : Arrays.copyOf(misses, missCount);
    }

    /** The hits in key order as one reply (a plain END when there are none). */
    public static ValuesReply merge(Value[] hitsByPosition) {
        int n = 0;
        for (Value v : hitsByPosition) {
            if (v != null) {
                n++;
            }
        }
        if (n == 0) {
            return ValuesReply.EMPTY;
        }
        List<Value> hits = new ArrayList<>(n);
        for (Value v : hitsByPosition) {
            if (v != null) {
                hits.add(v);
            }
        }
        return new ValuesReply(hits);
    }
}
