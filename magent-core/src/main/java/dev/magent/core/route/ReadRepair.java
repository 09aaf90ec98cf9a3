package dev.magent.core.route;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.WriteFences;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Read-repair (docs/semantics.md): a copy missed a key, so the next copies are asked in order with
 * {@code mg <key> v f t} (value, client flags, remaining TTL); the first hit answers the client and is
 * written back to the copy that missed (and to any copy asked on the way that missed too) with
 * {@code add <key> <flags> <exptime>}, which never overwrites a
 * value written meanwhile. The same {@code mg} + {@code add} pair is the resync's and the hint replay's
 * copy ({@link #parse}, {@link #add}), as mcrouter's WarmUpRoute.
 */
public final class ReadRepair implements Completion {
    private static final Logger log = LoggerFactory.getLogger(ReadRepair.class);
    /** memcached's largest relative exptime; larger values are absolute unix times. */
    public static final long MAX_RELATIVE_EXPTIME = 60L * 60 * 24 * 30;
    public static final List<String> VALUE_FLAGS_TTL = List.of("v", "f", "t");
    public static final List<String> VALUE_FLAGS_TTL_CAS = List.of("v", "f", "t", "c");
    /** A read that changes no TTL (get, gets). */
    static final long NO_TOUCH = Long.MIN_VALUE;

    /** What a repair found: the value to answer with, or null (every copy missed or failed). */
    interface Done {
        void repaired(Value value);
    }

    /**
     * A value read with {@code mg}.
     *
     * @param value        the value, flags and (if asked) cas unique; its data is owned by the receiver
     * @param remainingTtl seconds it has left, -1 for no expiry, 0 about to expire
     */
    public record Fetched(Value value, long remainingTtl) {
    }

    private final RouteContext ctx;
    private final Cluster cluster;
    private final byte[] key;
    private final boolean withCas;
    private final BackendServer target;
    private final Done done;
    /** gat/gats: the exptime the command gave, which the refill applies; {@link #NO_TOUCH} otherwise. */
    private final long touchExptime;
    /** Taken before the first read: a client write of the key issued since cancels or undoes the refill. */
    private final WriteFences.Fence fence;
    private int copy;
    /** Copies between the target and the one that had the key that answered a miss too: refilled as well. */
    private int alsoMissed;

    private ReadRepair(RouteContext ctx, byte[] key, boolean withCas, long touchExptime, int from,
                       BackendServer target, Done done) {
        this.ctx = ctx;
        this.cluster = ctx.cluster();
        this.key = key;
        this.withCas = withCas;
        this.touchExptime = touchExptime;
        this.copy = from;
        this.target = target;
        this.done = done;
        this.fence = cluster.fences().before(key, System.currentTimeMillis());
    }

    /**
     * Repairs {@code target}'s miss of {@code key} from the copies after {@code missedAt}; {@code done}
     * gets the value found (for the client) or null.
     */
    static void start(RouteContext ctx, byte[] key, boolean withCas, int missedAt, Done done) {
        start(ctx, key, withCas, NO_TOUCH, missedAt, done);
    }

    /**
     * The same for a gat/gats with this exptime: the copy that has the key is read and touched
     * ({@code mg ... T<exptime>}), and the refill gets the command's exptime, not what the copy had left.
     */
    static void start(RouteContext ctx, byte[] key, boolean withCas, long touchExptime, int missedAt, Done done) {
        BackendServer target = ctx.cluster().copy(missedAt, key);
        if (missedAt + 1 >= ctx.cluster().copies()) {
            done.repaired(null);
            return;
        }
        new ReadRepair(ctx, key, withCas, touchExptime, missedAt + 1, target, done).ask();
    }

    private void ask() {
        List<String> flags = withCas ? VALUE_FLAGS_TTL_CAS : VALUE_FLAGS_TTL;
        if (touchExptime != NO_TOUCH) {
            flags = new java.util.ArrayList<>(flags);
            flags.add("T" + touchExptime);
        }
        ctx.send(cluster.copy(copy, key), new MetaGetCommand(key, flags), this);
    }

    @Override
    public void accept(Reply reply, Throwable failure) {
        Fetched f = null;
        if (failure != null) {
            ctx.noteFailure(failure); // a stale or down copy: the next one may have it
        } else {
            boolean miss = reply instanceof MetaReply m && m.code().equals("EN");
            f = parse(key, reply, cluster.copy(copy, key));
            if (miss && copy < Integer.SIZE) {
                alsoMissed |= 1 << copy;
            }
        }
        if (f == null) {
            if (++copy < cluster.copies()) {
                ask();
            } else {
                done.repaired(null);
            }
            return;
        }
        refill(f);
        done.repaired(f.value());
    }

    /**
     * Writes the value back to the copies that missed; an item about to expire is not copied. Not when a
     * client wrote, deleted or flushed the key since the read: the value read is the past then.
     */
    private void refill(Fetched f) {
        if (!cluster.fences().holds(fence, System.currentTimeMillis())) {
            ctx.stats().repairCancelled();
            return;
        }
        refill(target, f);
        for (int p = 0; alsoMissed != 0 && p < Integer.SIZE; p++) {
            if ((alsoMissed & (1 << p)) != 0) {
                refill(cluster.copy(p, key), f);
            }
        }
    }

    private void refill(BackendServer copy, Fetched f) {
        StorageCommand add = touchExptime == NO_TOUCH ? add(f.value(), f.remainingTtl())
                : new StorageCommand(Verb.ADD, key, f.value().flags(), touchExptime, 0,
                        f.value().data().retainedDuplicate(), false);
        if (add == null) {
            return;
        }
        ctx.send(copy, add, (r, failure) -> {
            if (failure == null && r == StatusReply.STORED) {
                if (cluster.fences().holds(fence, System.currentTimeMillis())) {
                    ctx.stats().readRepair();
                } else {
                    undo(copy);
                }
            } else if (failure != null) {
                ctx.noteFailure(failure);
            }
            ReferenceCountUtil.release(r);
        });
    }

    /**
     * A client write of the key was issued between the check and the add's landing, and may have reached
     * this copy first (another event loop's connection): the add is taken back. At worst that deletes a
     * newer value, which the next read repairs again from the other copies; never an older one left.
     */
    private void undo(BackendServer copy) {
        ctx.stats().repairCancelled();
        ctx.send(copy, new DeleteCommand(key, false), (r, failure) -> {
            if (failure != null) {
                ctx.missed(copy, key, failure); // its copy may be the past: hinted, rewritten later
            }
            ReferenceCountUtil.release(r);
        });
    }

    /**
     * A {@code mg ... v f t [c]} reply as a value, or null (and the reply released) for a miss, an
     * unparsable reply or anything else.
     */
    public static Fetched parse(byte[] key, Reply reply, Object source) {
        if (!(reply instanceof MetaReply m) || !m.code().equals("VA") || m.data() == null) {
            ReferenceCountUtil.release(reply);
            return null;
        }
        try {
            int flags = (int) Long.parseLong(orDefault(m.flag('f'), "0"));
            long cas = m.flag('c') == null ? Value.NO_CAS : Long.parseUnsignedLong(m.flag('c'));
            long ttl = Long.parseLong(orDefault(m.flag('t'), "-1"));
            return new Fetched(new Value(key, flags, m.data(), cas), ttl);
        } catch (NumberFormatException e) {
            log.warn("{} answered an unparsable mg reply {} {}", source, m.code(), m.flags());
            m.release();
            return null;
        }
    }

    /**
     * The {@code add} that gives a copy this value with the TTL it has left (its data retained), or null
     * when the item is about to expire (remaining TTL 0) and is not worth copying.
     */
    public static StorageCommand add(Value v, long remainingTtl) {
        if (remainingTtl == 0) {
            return null;
        }
        return new StorageCommand(Verb.ADD, v.key(), v.flags(), exptimeForRemainingTtl(remainingTtl), 0,
                v.data().retainedDuplicate(), false);
    }

    /**
     * The exptime that gives a copy the remaining TTL {@code mg ... t} reported (not 0, which means
     * "expiring now"): -1 is no expiry (0); beyond memcached's 30 days a relative exptime would be read as
     * a unix time, so an absolute one is used.
     */
    static long exptimeForRemainingTtl(long remainingTtl) {
        if (remainingTtl < 0) {
            return 0;
        }
        return remainingTtl <= MAX_RELATIVE_EXPTIME ? remainingTtl : System.currentTimeMillis() / 1000 + remainingTtl;
    }

    private static String orDefault(String s, String d) {
        return s == null ? d : s;
    }
}
