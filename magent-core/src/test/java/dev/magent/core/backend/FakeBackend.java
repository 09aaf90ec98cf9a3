package dev.magent.core.backend;

import dev.magent.core.ServerAddress;
import dev.magent.protocol.ArithmeticCommand;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.FlushAllCommand;
import dev.magent.protocol.Keys;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.NumberReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.TouchCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A fake memcached server behind the send contract, for route unit tests: by default a small in-memory
 * memcached (get/gets/gat/gats, the storage verbs, cas, incr/decr, delete, touch, flush_all, mg with
 * v f t c, md with C, and the meta commands' common flags: {@link FakeMeta}), answering at once; a test
 * can script the next replies, make requests fail (timeout,
 * connection, ...) or hold them until it releases them, and reads what was sent in {@link #sent()}.
 * Not a real server: it exists for the faults and orderings a real one cannot be made to produce on cue.
 */
public final class FakeBackend implements Backend {
    /** An item: value, flags, exptime as stored (relative seconds, 0 none), cas unique. */
    public record Item(String value, int flags, long exptime, long cas) {
    }

    private final ServerAddress address;
    private final Map<String, Item> items = new HashMap<>();
    private final List<String> sent = new ArrayList<>();
    private final Deque<Reply> scripted = new ArrayDeque<>();
    private final Deque<Runnable> held = new ArrayDeque<>();
    private BackendException.Reason failing;
    private int failNext;
    private boolean holding;
    private long casCounter = 100;

    public FakeBackend(ServerAddress address) {
        this.address = address;
    }

    // ---- scripting ---------------------------------------------------------------------------------

    /** Stores an item directly, as if written earlier. */
    public FakeBackend put(String key, String value) {
        return put(key, value, 0, 0);
    }

    public FakeBackend put(String key, String value, int flags, long exptime) {
        items.put(key, new Item(value, flags, exptime, ++casCounter));
        return this;
    }

    /** The keys it holds now, as a metadump would list them. */
    public List<String> keys() {
        return new ArrayList<>(items.keySet());
    }

    /** Loses every item: the process restarted. */
    public FakeBackend restartEmpty() {
        items.clear();
        return this;
    }

    public Item item(String key) {
        return items.get(key);
    }

    public String value(String key) {
        Item i = items.get(key);
        return i == null ? null : i.value();
    }

    /** Every request fails this way (TIMEOUT, CONNECTION, ...) until {@link #healthy()}. */
    public FakeBackend failing(BackendException.Reason reason) {
        failing = reason;
        return this;
    }

    /** The next {@code n} requests fail this way, then it answers again. */
    public FakeBackend failNext(int n, BackendException.Reason reason) {
        failNext = n;
        failing = reason;
        return this;
    }

    public FakeBackend healthy() {
        failing = null;
        failNext = 0;
        return this;
    }

    /** The next request gets this reply instead of the store's answer (the command is still recorded). */
    public FakeBackend replyNext(Reply reply) {
        scripted.add(reply);
        return this;
    }

    /** Requests from now on wait (a slow server) until {@link #release()}. */
    public FakeBackend hold() {
        holding = true;
        return this;
    }

    /** Answers every held request, oldest first, and stops holding. */
    public FakeBackend release() {
        holding = false;
        while (!held.isEmpty()) {
            held.poll().run();
        }
        return this;
    }

    /**
     * Answers every held request newest first, and stops holding: what a request sent later on another
     * connection (another event loop) does when it overtakes the earlier ones.
     */
    public FakeBackend releaseNewestFirst() {
        holding = false;
        while (!held.isEmpty()) {
            held.pollLast().run();
        }
        return this;
    }

    /** Answers the requests held now, oldest first, and keeps holding the ones sent from now on. */
    public FakeBackend releaseHeld() {
        List<Runnable> now = new ArrayList<>(held);
        held.clear();
        now.forEach(Runnable::run);
        return this;
    }

    public int heldCount() {
        return held.size();
    }

    /** What was sent here, one line per command, as on the wire without CRLFs ("set k 0 0 v"). */
    public List<String> sent() {
        return sent;
    }

    // ---- the send contract --------------------------------------------------------------------------

    @Override
    public void send(Command command, Completion completion) {
        sent.add(describe(command));
        Runnable answer;
        if (failing != null) {
            BackendException.Reason reason = failing;
            if (failNext > 0 && --failNext == 0) {
                failing = null;
            }
            answer = () -> completion.accept(null, new BackendException(reason, address, "fake " + reason));
        } else if (!scripted.isEmpty()) {
            Reply r = scripted.poll();
            answer = () -> completion.accept(r, null);
        } else {
            answer = () -> completion.accept(apply(command), null);
        }
        if (holding) {
            // a held write applies when answered: what a slow server does
            Command kept = command;
            held.add(() -> {
                answer.run();
                ReferenceCountUtil.release(kept);
            });
            return;
        }
        answer.run();
        ReferenceCountUtil.release(command);
    }

    private Reply apply(Command c) {
        if (c instanceof RetrievalCommand r) {
            List<Value> values = new ArrayList<>();
            for (byte[] k : r.keys()) {
                Item i = items.get(Keys.toString(k));
                if (i != null) {
                    if (r.verb() == Verb.GAT || r.verb() == Verb.GATS) {
                        i = new Item(i.value(), i.flags(), r.exptime(), i.cas());
                        items.put(Keys.toString(k), i);
                    }
                    values.add(new Value(k, i.flags(), buf(i.value()), r.verb().returnsCas() ? i.cas() : Value.NO_CAS));
                }
            }
            return values.isEmpty() ? ValuesReply.EMPTY : new ValuesReply(values);
        } else if (c instanceof StorageCommand s) {
            return store(s);
        } else if (c instanceof ArithmeticCommand a) {
            Item i = items.get(Keys.toString(a.key()));
            if (i == null) {
                return StatusReply.NOT_FOUND;
            }
            long n;
            try {
                n = Long.parseUnsignedLong(i.value());
            } catch (NumberFormatException e) {
                return ErrorReply.client("cannot increment or decrement non-numeric value");
            }
            n = a.verb() == Verb.INCR ? n + a.delta() : Math.max(0, n - a.delta());
            items.put(Keys.toString(a.key()), new Item(Long.toUnsignedString(n), i.flags(), i.exptime(), ++casCounter));
            return new NumberReply(n);
        } else if (c instanceof DeleteCommand d) {
            return items.remove(Keys.toString(d.key())) != null ? StatusReply.DELETED : StatusReply.NOT_FOUND;
        } else if (c instanceof TouchCommand t) {
            Item i = items.get(Keys.toString(t.key()));
            if (i == null) {
                return StatusReply.NOT_FOUND;
            }
            items.put(Keys.toString(t.key()), new Item(i.value(), i.flags(), t.exptime(), i.cas()));
            return StatusReply.TOUCHED;
        } else if (c instanceof FlushAllCommand f) {
            if (f.delay() > 0) {
                return StatusReply.OK; // a delayed flush: tests read it in sent()
            }
            items.clear();
            return StatusReply.OK;
        } else if (c instanceof MetaCommand m) {
            return FakeMeta.apply(items, this::nextCas, m);
        } else if (c instanceof MetaGetCommand m) {
            Item i = items.get(Keys.toString(m.key()));
            if (i == null) {
                return new MetaReply("EN", List.of(), null);
            }
            for (String flag : m.flags()) {
                if (flag.startsWith("T")) { // touch: the new TTL applies before t reports it
                    i = new Item(i.value(), i.flags(), Long.parseLong(flag.substring(1)), i.cas());
                    items.put(Keys.toString(m.key()), i);
                }
            }
            List<String> flags = new ArrayList<>();
            flags.add("f" + i.flags());
            flags.add("t" + (i.exptime() == 0 ? -1 : i.exptime()));
            if (m.flags().contains("c")) {
                flags.add("c" + i.cas());
            }
            return new MetaReply("VA", flags, buf(i.value()));
        }
        return ErrorReply.UNKNOWN_COMMAND;
    }

    private Reply store(StorageCommand s) {
        String key = Keys.toString(s.key());
        String data = s.value().toString(StandardCharsets.US_ASCII);
        Item old = items.get(key);
        switch (s.verb()) {
            case ADD -> {
                if (old != null) {
                    return StatusReply.NOT_STORED;
                }
            }
            case REPLACE -> {
                if (old == null) {
                    return StatusReply.NOT_STORED;
                }
            }
            case APPEND, PREPEND -> {
                if (old == null) {
                    return StatusReply.NOT_STORED;
                }
                String joined = s.verb() == Verb.APPEND ? old.value() + data : data + old.value();
                items.put(key, new Item(joined, old.flags(), old.exptime(), ++casCounter));
                return StatusReply.STORED;
            }
            case CAS -> {
                if (old == null) {
                    return StatusReply.NOT_FOUND;
                }
                if (old.cas() != s.casUnique()) {
                    return StatusReply.EXISTS;
                }
            }
            default -> {
            }
        }
        items.put(key, new Item(data, s.flags(), s.exptime(), ++casCounter));
        return StatusReply.STORED;
    }

    private long nextCas() {
        return ++casCounter;
    }

    private static io.netty.buffer.ByteBuf buf(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    /** A command as its text-protocol line, with a storage command's data after the line. */
    static String describe(Command c) {
        if (c instanceof RetrievalCommand r) {
            StringBuilder sb = new StringBuilder(r.verb().wireName());
            if (r.verb() == Verb.GAT || r.verb() == Verb.GATS) {
                sb.append(' ').append(r.exptime());
            }
            for (byte[] k : r.keys()) {
                sb.append(' ').append(Keys.toString(k));
            }
            return sb.toString();
        } else if (c instanceof StorageCommand s) {
            return s.verb().wireName() + " " + Keys.toString(s.key()) + " " + s.flags() + " " + s.exptime()
                    + (s.verb() == Verb.CAS ? " " + s.casUnique() : "") + (s.noreply() ? " noreply" : "")
                    + " " + s.value().toString(StandardCharsets.US_ASCII);
        } else if (c instanceof ArithmeticCommand a) {
            return a.verb().wireName() + " " + Keys.toString(a.key()) + " " + a.delta() + (a.noreply() ? " noreply" : "");
        } else if (c instanceof DeleteCommand d) {
            return "delete " + Keys.toString(d.key()) + (d.noreply() ? " noreply" : "");
        } else if (c instanceof TouchCommand t) {
            return "touch " + Keys.toString(t.key()) + " " + t.exptime() + (t.noreply() ? " noreply" : "");
        } else if (c instanceof FlushAllCommand f) {
            return "flush_all" + (f.delay() >= 0 ? " " + f.delay() : "") + (f.noreply() ? " noreply" : "");
        } else if (c instanceof MetaCommand m) {
            return FakeMeta.describe(m);
        } else if (c instanceof MetaGetCommand m) {
            return "mg " + Keys.toString(m.key()) + " " + String.join(" ", m.flags());
        }
        return c.verb().wireName();
    }

    @Override
    public String toString() {
        return "fake " + address;
    }
}
