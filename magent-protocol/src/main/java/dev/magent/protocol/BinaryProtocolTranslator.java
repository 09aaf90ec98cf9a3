package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.memcache.LastMemcacheContent;
import io.netty.handler.codec.memcache.MemcacheContent;
import io.netty.handler.codec.memcache.binary.BinaryMemcacheRequest;
import io.netty.handler.codec.memcache.binary.BinaryMemcacheServerCodec;
import io.netty.handler.codec.memcache.binary.DefaultFullBinaryMemcacheResponse;
import io.netty.handler.codec.memcache.binary.FullBinaryMemcacheResponse;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The server side of memcached's binary protocol over the protocol-neutral model: sits between Netty's
 * {@link BinaryMemcacheServerCodec} (bytes to {@link BinaryMemcacheRequest}s and back) and a handler that
 * serves {@link Command}s, so that a binary request takes exactly the path a text command takes.
 *
 * <p>Inbound, each binary request becomes zero or more commands passed on with {@code fireChannelRead}.
 * Outbound, this handler takes the {@link Reply}s written back — the next handler must answer every
 * command it was given with exactly one reply, in the order it got them (it is never given a
 * {@code noreply} command, a {@link QuitCommand} or a {@link ProtocolError}) — and writes binary responses
 * in request order: opcode and opaque echoed, cas in the header, flags in the extras, the key for the K
 * variants, quiet variants answering only on a miss (get) or an error (the rest), as memcached 1.6.18 does.
 * Requests that need no cache (noop, quit, unknown opcodes, malformed requests) are answered here, in their
 * place in the order.
 *
 * <p>A store becomes the meta {@code ms}, whose reply carries the new item's cas and which takes a cas for
 * append and prepend too. What the text model cannot say is done with extra commands: a successful
 * incr/decr or touch answers with the item's cas, read with a {@code gets} sent right behind the write (the same connection
 * to the same server keeps them in order); incr/decr with an initial value is followed by an {@code add}
 * of that value, which stores only when the incr missed; a delete with a cas reads the item's cas first.
 * A key the text protocol cannot carry (a space, an LF, a NUL) goes base64 in the equivalent meta command
 * ({@code ms}, {@code mg}, {@code md} with {@code b}), as a meta client's would; only incr and decr of such a
 * key are refused, with {@code EINVAL}.
 *
 * @see <a href="https://github.com/memcached/memcached/wiki/BinaryProtocolRevamped">memcached binary protocol</a>
 */
public final class BinaryProtocolTranslator extends ChannelDuplexHandler {
    /** The first byte of every binary request: what tells a binary client from a text one. */
    public static final byte REQUEST_MAGIC = (byte) 0x80;

    // opcodes memcached 1.6 serves (protocol_binary.h)
    static final byte GET = 0x00;
    static final byte SET = 0x01;
    static final byte ADD = 0x02;
    static final byte REPLACE = 0x03;
    static final byte DELETE = 0x04;
    static final byte INCREMENT = 0x05;
    static final byte DECREMENT = 0x06;
    static final byte QUIT = 0x07;
    static final byte FLUSH = 0x08;
    static final byte GETQ = 0x09;
    static final byte NOOP = 0x0a;
    static final byte VERSION = 0x0b;
    static final byte GETK = 0x0c;
    static final byte GETKQ = 0x0d;
    static final byte APPEND = 0x0e;
    static final byte PREPEND = 0x0f;
    static final byte STAT = 0x10;
    static final byte SETQ = 0x11;
    static final byte ADDQ = 0x12;
    static final byte REPLACEQ = 0x13;
    static final byte DELETEQ = 0x14;
    static final byte INCREMENTQ = 0x15;
    static final byte DECREMENTQ = 0x16;
    static final byte QUITQ = 0x17;
    static final byte FLUSHQ = 0x18;
    static final byte APPENDQ = 0x19;
    static final byte PREPENDQ = 0x1a;
    static final byte TOUCH = 0x1c;
    static final byte GAT = 0x1d;
    static final byte GATQ = 0x1e;
    static final byte GATK = 0x23;
    static final byte GATKQ = 0x24;

    // response statuses, each with the body memcached sends with it
    static final short SUCCESS = 0x00;
    static final short KEY_ENOENT = 0x01;
    static final short KEY_EEXISTS = 0x02;
    static final short E2BIG = 0x03;
    static final short EINVAL = 0x04;
    static final short NOT_STORED = 0x05;
    static final short DELTA_BADVAL = 0x06;
    static final short UNKNOWN_COMMAND = 0x81;
    static final short ENOMEM = 0x82;
    static final short EINTERNAL = 0x84;

    /** Quiet gets sent as one multi-key gets at most. */
    static final int MAX_BATCH = 100;
    /** incr/decr extras' expiration meaning "do not create the item on a miss". */
    private static final long NO_CREATE = 0xffffffffL;
    /** The text error an incr/decr of a non-number gets from memcached. */
    private static final String NON_NUMERIC = "cannot increment or decrement non-numeric value";

    private final ProtocolLimits limits;
    /** Every request not yet answered, in request order; the head is written first. */
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /** The request owning each command passed on and not yet answered, in the order they were passed on. */
    private final ArrayDeque<Pending> awaiting = new ArrayDeque<>();

    private ChannelHandlerContext ctx;
    /** Quiet gets held back to go as one multi-key gets, or null. */
    private Pending batch;
    /** The request whose header was read and whose value is still arriving, or null. */
    private BinaryMemcacheRequest current;
    private ByteBuf value;
    /** The current request's value length, from its header. */
    private long valueLength;
    /** Whether the current request's value is kept: only a storage request's, and only within the limit. */
    private boolean keepValue;
    /** Whether the current request was answered from its header alone (a value too large). */
    private boolean answered;
    /** Set once the connection is to close (quit, a protocol error): nothing more is read. */
    private boolean closing;
    private boolean flushNeeded;

    /** With memcached's limits. */
    public BinaryProtocolTranslator() {
        this(ProtocolLimits.DEFAULT);
    }

    /**
     * With the given limits.
     *
     * @param limits the key length and value size limits (line limits do not apply to binary requests)
     */
    public BinaryProtocolTranslator(ProtocolLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseAll();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        releaseAll();
        ctx.fireChannelInactive();
    }

    private void releaseAll() {
        releaseCurrent();
        batch = null; // its members are in pending
        for (Pending p : pending) {
            p.release();
        }
        pending.clear();
        awaiting.clear();
    }

    private void releaseCurrent() {
        if (current != null) {
            current.release();
            current = null;
        }
        if (value != null) {
            value.release();
            value = null;
        }
        keepValue = false;
        answered = false;
    }

    // ---------------------------------------------------------------------------------------------- inbound

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (closing) {
                return;
            }
            if (msg instanceof BinaryMemcacheRequest request) {
                header(request.retain());
            }
            if (msg instanceof MemcacheContent content && current != null) {
                content(content);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!closing) {
            sendBatch(); // the run of quiet gets may go on in the next read, but its answers must not wait for it
        }
        if (flushNeeded) {
            flushNeeded = false;
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    /** A request's header, extras and key: checks what can be checked before its value arrives. */
    private void header(BinaryMemcacheRequest request) {
        current = request;
        if (request.decoderResult().isFailure() || request.magic() != REQUEST_MAGIC) {
            // memcached closes a binary connection without a word when a request does not start with the magic
            releaseCurrent();
            closeAfter(null);
            return;
        }
        int keyLength = request.keyLength() & 0xFFFF;
        int extrasLength = request.extrasLength() & 0xFF;
        valueLength = Integer.toUnsignedLong(request.totalBodyLength()) - keyLength - extrasLength;
        if (valueLength < 0 || keyLength > limits.maxKeyLength() || (valueLength > 0 && takesNoValue(request.opcode()))) {
            // refused now, as memcached refuses it: not after reading a value of up to 4 GiB
            protocolError(request);
            return;
        }
        if (isStorage(request.opcode())) {
            if (valueLength > limits.maxValueSize()) {
                // memcached answers E2BIG, reads the value past and goes on with the next request
                answer(request, E2BIG, "Too large.");
                answered = true;
            } else {
                keepValue = true;
            }
        }
        // any other request's value is read past without being kept: only its length matters
    }

    private void content(MemcacheContent content) {
        if (keepValue) {
            ByteBuf chunk = content.content();
            if (value == null) {
                value = chunk.retain();
            } else if (chunk.isReadable()) {
                if (!(value instanceof CompositeByteBuf)) {
                    value = ctx.alloc().compositeBuffer(Integer.MAX_VALUE).addComponent(true, value);
                }
                ((CompositeByteBuf) value).addComponent(true, chunk.retain());
            }
        }
        if (content instanceof LastMemcacheContent) {
            BinaryMemcacheRequest request = current;
            ByteBuf body = value == null ? Unpooled.EMPTY_BUFFER : value;
            boolean skip = answered;
            long bodyLength = valueLength;
            current = null;
            value = null;
            keepValue = false;
            answered = false;
            try {
                if (!skip) {
                    dispatch(request, body, bodyLength);
                }
            } finally {
                request.release();
                body.release();
            }
        }
    }

    /** A whole request: validated as memcached validates it, then answered or passed on as commands. */
    private void dispatch(BinaryMemcacheRequest r, ByteBuf body, long valueLength) {
        byte op = r.opcode();
        int keyLength = r.keyLength() & 0xFFFF;
        int extrasLength = r.extrasLength() & 0xFF;
        ByteBuf extras = r.extras();
        switch (op) {
            case NOOP, VERSION, QUIT, QUITQ -> {
                if (keyLength != 0 || extrasLength != 0 || valueLength != 0) {
                    protocolError(r);
                } else if (op == NOOP) {
                    answer(r, SUCCESS, null);
                } else if (op == VERSION) {
                    forward(new Pending(r, Kind.VERSION, null), VersionCommand.INSTANCE);
                } else {
                    Pending p = new Pending(r, Kind.LOCAL, null);
                    if (op == QUIT) {
                        p.done(response(p, SUCCESS, null, 0));
                    } else {
                        p.done(null);
                    }
                    closeAfter(p);
                }
            }
            case FLUSH, FLUSHQ -> {
                if (keyLength != 0 || valueLength != 0 || (extrasLength != 0 && extrasLength != 4)) {
                    protocolError(r);
                } else {
                    long delay = extrasLength == 4
                            ? exptime(extras.getInt(extras.readerIndex())) : FlushAllCommand.NO_DELAY;
                    forward(new Pending(r, Kind.FLUSH, null), new FlushAllCommand(delay, false));
                }
            }
            case GET, GETQ, GETK, GETKQ -> {
                if (extrasLength != 0 || keyLength == 0 || valueLength != 0) {
                    protocolError(r);
                } else {
                    byte[] key = ByteBufUtil.getBytes(r.key());
                    Pending p = new Pending(r, Kind.GET, key);
                    if (!textCarries(key)) {
                        forward(p, meta(Verb.MG, key, "v", "f", "c"));
                    } else {
                        if (p.quiet) {
                            batch(p);
                        } else {
                            forward(p, new RetrievalCommand(Verb.GETS, List.of(key), 0));
                        }
                    }
                }
            }
            case TOUCH, GAT, GATQ, GATK, GATKQ -> {
                if (extrasLength != 4 || keyLength == 0) {
                    protocolError(r);
                } else {
                    byte[] key = ByteBufUtil.getBytes(r.key());
                    long exptime = exptime(extras.getInt(extras.readerIndex()));
                    // touch answers with the item's flags and cas, which gats reads; gat goes to the backups too
                    Pending p = new Pending(r, op == TOUCH ? Kind.TOUCH : Kind.GET, key);
                    forward(p, textCarries(key) ? new RetrievalCommand(Verb.GATS, List.of(key), exptime)
                            : meta(Verb.MG, key, "T" + exptime, "v", "f", "c"));
                }
            }
            case SET, SETQ, ADD, ADDQ, REPLACE, REPLACEQ -> {
                if (extrasLength != 8 || keyLength == 0) {
                    protocolError(r);
                } else {
                    byte[] key = ByteBufUtil.getBytes(r.key());
                    int flags = extras.getInt(extras.readerIndex());
                    long exptime = exptime(extras.getInt(extras.readerIndex() + 4));
                    char mode = op == SET || op == SETQ ? 'S' : op == ADD || op == ADDQ ? 'E' : 'R';
                    // memcached compares a non-zero cas on set and replace; add ignores it
                    long cas = mode == 'E' ? 0 : r.cas();
                    store(r, key, mode, "F" + Integer.toUnsignedString(flags), "T" + exptime, cas, body.retain());
                }
            }
            case APPEND, APPENDQ, PREPEND, PREPENDQ -> {
                if (extrasLength != 0 || keyLength == 0) {
                    protocolError(r);
                } else {
                    // with a cas: memcached's check for append and prepend, EXISTS when it differs
                    store(r, ByteBufUtil.getBytes(r.key()), op == APPEND || op == APPENDQ ? 'A' : 'P', null, null,
                            r.cas(), body.retain());
                }
            }
            case DELETE, DELETEQ -> {
                if (extrasLength != 0 || keyLength == 0 || valueLength != 0) {
                    protocolError(r);
                } else {
                    byte[] key = ByteBufUtil.getBytes(r.key());
                    if (!textCarries(key)) {
                        forward(new Pending(r, Kind.DELETE, key), r.cas() == 0 ? meta(Verb.MD, key)
                                : meta(Verb.MD, key, "C" + Long.toUnsignedString(r.cas())));
                    } else {
                        if (r.cas() == 0) {
                            forward(new Pending(r, Kind.DELETE, key), new DeleteCommand(key, false));
                        } else {
                            Pending p = new Pending(r, Kind.DELETE_CAS, key);
                            p.cas = r.cas();
                            forward(p, new RetrievalCommand(Verb.GETS, List.of(key), 0));
                        }
                    }
                }
            }
            case INCREMENT, INCREMENTQ, DECREMENT, DECREMENTQ -> {
                if (extrasLength != 20 || keyLength == 0 || valueLength != 0) {
                    protocolError(r);
                } else {
                    byte[] key = key(r);
                    if (key != null) {
                        arithmetic(r, key, extras);
                    }
                }
            }
            case STAT -> {
                if (extrasLength != 0) {
                    protocolError(r);
                } else {
                    String group = r.key() == null ? "" : r.key().toString(StandardCharsets.US_ASCII).trim();
                    if (printable(group)) {
                        forward(new Pending(r, Kind.STAT, null), new StatsCommand(group));
                    } else {
                        // no statistics group has such a name, and a CR or LF must never reach a text line
                        answer(r, KEY_ENOENT, "Not found");
                    }
                }
            }
            // verbosity, SASL and every other opcode: memcached 1.6.18 built without SASL answers them all so
            default -> answer(r, UNKNOWN_COMMAND, "Unknown command");
        }
    }

    /**
     * A binary expiration (unsigned 32 bits) as a text exptime (signed 32 bits): memcached reads one of 2^31 or
     * more as a unix time past 2038, which the text protocol cannot say; the latest it can say is as good.
     */
    static long exptime(int binary) {
        return Math.min(Integer.toUnsignedLong(binary), Integer.MAX_VALUE);
    }

    private static boolean isStorage(byte op) {
        return switch (op) {
            case SET, SETQ, ADD, ADDQ, REPLACE, REPLACEQ, APPEND, APPENDQ, PREPEND, PREPENDQ -> true;
            default -> false;
        };
    }

    /** Whether the text is printable ASCII and spaces only. */
    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** Opcodes whose requests memcached refuses when they carry a value. */
    private static boolean takesNoValue(byte op) {
        return switch (op) {
            case NOOP, VERSION, QUIT, QUITQ, FLUSH, FLUSHQ, GET, GETQ, GETK, GETKQ, DELETE, DELETEQ, INCREMENT,
                    INCREMENTQ, DECREMENT, DECREMENTQ -> true;
            default -> false;
        };
    }

    private static boolean isQuiet(byte op) {
        return switch (op) {
            case GETQ, GETKQ, SETQ, ADDQ, REPLACEQ, DELETEQ, INCREMENTQ, DECREMENTQ, QUITQ, FLUSHQ, APPENDQ,
                    PREPENDQ, GATQ, GATKQ -> true;
            default -> false;
        };
    }

    private static boolean echoesKey(byte op) {
        return op == GETK || op == GETKQ || op == GATK || op == GATKQ;
    }

    /**
     * The request's key, or null after answering {@code EINVAL} when the text protocol the backends speak
     * cannot carry it (a space, a control byte): memcached itself would store such a key.
     */
    private byte[] key(BinaryMemcacheRequest r) {
        byte[] key = ByteBufUtil.getBytes(r.key());
        if (!Wire.validKey(key, limits.maxKeyLength())) {
            answer(r, EINVAL, "Invalid arguments");
            return null;
        }
        return key;
    }

    /**
     * A binary store as the meta command that says all of it: {@code ms <key> <len> c M<mode> [F T] [C<cas>]}.
     * {@code c} returns the new item's cas, which the response carries (text's {@code STORED} has none, so
     * a {@code gets} had to follow the write); {@code C} carries the header's cas. The route is the meta
     * {@code ms}'s: every copy, or with a cas the copy that serves the key's reads first.
     */
    /** Whether a text command can carry the key (else it goes base64 in a meta command, as memcached stores it). */
    private boolean textCarries(byte[] key) {
        return Wire.validKey(key, limits.maxKeyLength());
    }

    private static byte[] base64(byte[] key) {
        return java.util.Base64.getEncoder().encode(key);
    }

    /** A meta command for a key text cannot carry: {@code <verb> <base64 key> b <flag>*}. */
    private static MetaCommand meta(Verb verb, byte[] key, String... flags) {
        List<String> all = new ArrayList<>(flags.length + 1);
        all.add("b");
        all.addAll(List.of(flags));
        return new MetaCommand(verb, base64(key), key, all, null);
    }

    private void store(BinaryMemcacheRequest r, byte[] key, char mode, String flags, String exptime, long cas,
                       ByteBuf value) {
        List<String> meta = new ArrayList<>(5);
        meta.add("c");
        meta.add("M" + mode);
        if (flags != null) {
            meta.add(flags);
            meta.add(exptime);
        }
        if (cas != 0) {
            meta.add("C" + Long.toUnsignedString(cas));
        }
        Pending p = new Pending(r, Kind.STORE, key);
        if (textCarries(key)) {
            forward(p, new MetaCommand(Verb.MS, key, key, meta, value));
        } else {
            meta.add(0, "b");
            forward(p, new MetaCommand(Verb.MS, base64(key), key, meta, value));
        }
    }

    /** incr/decr extras: delta (8 bytes), initial value (8), expiration (4). */
    private void arithmetic(BinaryMemcacheRequest r, byte[] key, ByteBuf extras) {
        int at = extras.readerIndex();
        long delta = extras.getLong(at);
        long initial = extras.getLong(at + 8);
        long expiration = Integer.toUnsignedLong(extras.getInt(at + 16));
        byte op = r.opcode();
        Verb verb = op == INCREMENT || op == INCREMENTQ ? Verb.INCR : Verb.DECR;
        Pending p = new Pending(r, Kind.ARITHMETIC, key);
        p.initial = initial;
        Command incr = new ArithmeticCommand(verb, key, delta, false);
        if (expiration == NO_CREATE) {
            p.create = false;
            if (p.quiet) {
                forward(p, incr);
            } else {
                forward(p, incr, new RetrievalCommand(Verb.GETS, List.of(key), 0));
            }
            return;
        }
        // on a miss memcached stores the initial value: an add right behind the incr stores only if it missed
        p.create = true;
        byte[] digits = Long.toUnsignedString(initial).getBytes(StandardCharsets.US_ASCII);
        Command add = new StorageCommand(Verb.ADD, key, 0, exptime((int) expiration), 0, Unpooled.wrappedBuffer(digits),
                false);
        if (p.quiet) {
            forward(p, incr, add);
        } else {
            forward(p, incr, add, new RetrievalCommand(Verb.GETS, List.of(key), 0));
        }
    }

    /** Queues a request's place and passes its commands on; their replies come back through {@link #write}. */
    private void forward(Pending p, Command... commands) {
        pending.add(p);
        send(p, commands);
    }

    private void send(Pending p, Command... commands) {
        // a batch of quiet gets read before these commands goes first, or a get could see a later write
        sendBatch();
        p.expected = commands.length;
        p.replies = new Reply[commands.length];
        for (Command c : commands) {
            awaiting.add(p);
        }
        for (Command c : commands) {
            ctx.fireChannelRead(c);
        }
    }

    /**
     * Holds a quiet get back to join the ones after it: clients send a multi-get as a run of getq/getkq ended
     * by a noop, and one multi-key gets costs the proxy far less than one request per key.
     */
    private void batch(Pending p) {
        pending.add(p);
        if (batch == null) {
            batch = new Pending(null, Kind.BATCH, null);
            batch.members = new ArrayList<>();
        }
        batch.members.add(p);
        if (batch.members.size() >= MAX_BATCH) {
            sendBatch();
        }
    }

    /** Sends the quiet gets held back, as one gets of their keys (or one get when alone). */
    private void sendBatch() {
        Pending b = batch;
        if (b == null) {
            return;
        }
        batch = null;
        if (b.members.size() == 1) {
            Pending only = b.members.get(0);
            send(only, new RetrievalCommand(Verb.GETS, List.of(only.key), 0));
            return;
        }
        List<byte[]> keys = new ArrayList<>(b.members.size());
        for (Pending m : b.members) {
            keys.add(m.key);
        }
        send(b, new RetrievalCommand(Verb.GETS, keys, 0));
    }

    /** A later command for a request already queued, decided by a reply it got. */
    private void followUp(Pending p, Command command) {
        sendBatch();
        Reply[] grown = new Reply[p.replies.length + 1];
        System.arraycopy(p.replies, 0, grown, 0, p.replies.length);
        p.replies = grown;
        p.expected++;
        awaiting.add(p);
        ctx.fireChannelRead(command);
    }

    /**
     * Answers a request here, in its place in the order. The answer still passes a {@code version} to the next
     * handler, whose reply is dropped: that way every request counts in the next handler's flow control (its
     * window of requests in flight), and a flood of noops behind a slow get waits there like any other request.
     */
    private void answer(BinaryMemcacheRequest r, short status, String body) {
        Pending p = new Pending(r, Kind.LOCAL, null);
        p.preset = p.quiet && status == SUCCESS ? null : response(p, status, body, 0);
        forward(p, VersionCommand.INSTANCE);
    }

    /** A malformed request: memcached answers EINVAL and closes the connection. */
    private void protocolError(BinaryMemcacheRequest r) {
        Pending p = new Pending(r, Kind.LOCAL, null);
        p.done(response(p, EINVAL, "Invalid arguments", 0));
        releaseCurrent();
        closeAfter(p);
    }

    /** Stops reading; closes once {@code last} (if any) and everything before it is written. */
    private void closeAfter(Pending last) {
        sendBatch(); // the quiet gets before the close are answered first, as memcached answers them
        closing = true;
        Pending p = last != null ? last : new Pending(null, Kind.LOCAL, null);
        p.closeAfter = true;
        if (last == null) {
            p.done(null);
        }
        pending.add(p);
        drain();
    }

    // --------------------------------------------------------------------------------------------- outbound

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof Reply reply)) {
            ctx.write(msg, promise);
            return;
        }
        Pending p = awaiting.poll();
        if (p == null) {
            // not asked for (the connection closed and dropped its requests): nobody else will release it
            ReferenceCountUtil.release(reply);
            promise.trySuccess();
            return;
        }
        p.replies[p.received++] = reply;
        promise.trySuccess();
        if (p.received == p.expected) {
            complete(p);
        }
        drain();
    }

    /** Writes every answered request at the head of the order. */
    private void drain() {
        Pending head;
        while ((head = pending.peek()) != null && head.done) {
            pending.poll();
            if (head.response != null) {
                if (head.response instanceof List<?> many) {
                    for (Object m : many) {
                        ctx.write(m, ctx.voidPromise());
                    }
                } else {
                    ctx.write(head.response, ctx.voidPromise());
                }
                head.response = null;
                flushNeeded = true;
            }
            if (head.closeAfter) {
                flushNeeded = false;
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                releaseAll();
                return;
            }
        }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        flushNeeded = false;
        ctx.flush();
    }

    /** All of a request's replies are in: its response, or a later command it needs. */
    private void complete(Pending p) {
        Reply[] rs = p.replies;
        Command next = null;
        switch (p.kind) {
            case LOCAL -> {
                p.done(p.preset); // the version was only a place in the order
                p.preset = null;
            }
            case VERSION -> {
                if (rs[0] instanceof VersionReply v) {
                    p.done(response(p, SUCCESS, v.version(), 0));
                } else {
                    p.done(error(p, rs[0]));
                }
            }
            case FLUSH -> p.done(rs[0] == StatusReply.OK ? ok(p, 0) : error(p, rs[0]));
            case GET, TOUCH -> {
                if (rs[0] instanceof MetaReply m && m.code().equals("VA") && m.data() != null) {
                    p.done(hit(p, new Value(p.key, (int) Long.parseLong(m.flag('f')), m.data(),
                            Long.parseUnsignedLong(m.flag('c')))));
                } else if (rs[0] instanceof MetaReply m && m.code().equals("EN")) {
                    p.done(p.quiet ? null : miss(p));
                } else if (rs[0] instanceof ValuesReply values && !values.values().isEmpty()) {
                    p.done(hit(p, values.values().get(0)));
                } else if (rs[0] instanceof ValuesReply) {
                    p.done(p.quiet ? null : miss(p));
                } else {
                    p.done(error(p, rs[0]));
                }
            }
            case STORE -> p.done(storeResponse(p, rs[0]));
            case DELETE -> p.done(rs[0] == StatusReply.DELETED || rs[0] instanceof MetaReply m && m.code().equals("HD")
                    ? ok(p, 0) : deleteFailure(p, rs[0]));
            case DELETE_CAS -> {
                if (rs.length == 1) {
                    if (rs[0] instanceof ValuesReply values && !values.values().isEmpty()) {
                        if (values.values().get(0).casUnique() == p.cas) {
                            next = new DeleteCommand(p.key, false);
                        } else {
                            p.done(response(p, KEY_EEXISTS, "Data exists for key.", 0));
                        }
                    } else {
                        p.done(rs[0] instanceof ValuesReply ? response(p, KEY_ENOENT, "Not found", 0) : error(p, rs[0]));
                    }
                } else {
                    p.done(rs[1] == StatusReply.DELETED ? ok(p, 0) : deleteFailure(p, rs[1]));
                }
            }
            case ARITHMETIC -> p.done(arithmeticResponse(p, rs));
            case BATCH -> {
                if (rs[0] instanceof ValuesReply values) {
                    Map<ByteBuffer, Value> hits = new HashMap<>();
                    for (Value v : values.values()) {
                        hits.putIfAbsent(ByteBuffer.wrap(v.key()), v);
                    }
                    for (Pending m : p.members) {
                        Value v = hits.get(ByteBuffer.wrap(m.key));
                        m.done(v != null ? hit(m, v) : null); // every member is quiet: a miss says nothing
                    }
                } else {
                    for (Pending m : p.members) {
                        m.done(error(m, rs[0]));
                    }
                }
                p.done(null);
            }
            case STAT -> p.done(stats(p, rs[0]));
            default -> throw new IllegalStateException("nothing awaited for " + p.kind);
        }
        for (int i = 0; i < rs.length; i++) {
            ReferenceCountUtil.release(rs[i]);
            rs[i] = null;
        }
        if (next != null) {
            // after the release: its reply may come back (and complete the request) before this returns
            followUp(p, next);
        }
    }

    private Object arithmeticResponse(Pending p, Reply[] rs) {
        Reply incr = rs[0];
        int next = 1;
        long result;
        if (incr instanceof NumberReply n) {
            result = n.value();
        } else if (incr == StatusReply.NOT_FOUND && p.create && rs[next] == StatusReply.STORED) {
            result = p.initial;
        } else if (incr == StatusReply.NOT_FOUND) {
            return response(p, KEY_ENOENT, "Not found", 0);
        } else {
            return error(p, incr);
        }
        if (p.create) {
            next++;
        }
        if (p.quiet) {
            return null;
        }
        ByteBuf eight = ctx.alloc().buffer(8).writeLong(result);
        return full(p, SUCCESS, Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, eight,
                casOf(next < rs.length ? rs[next] : null));
    }

    private static long casOf(Reply gets) {
        if (gets instanceof ValuesReply values && !values.values().isEmpty()) {
            long cas = values.values().get(0).casUnique();
            return cas == Value.NO_CAS ? 0 : cas;
        }
        return 0;
    }

    /** ms's answer: HD with the new cas, NS (not stored), EX (the cas differs), NF (no item for the cas). */
    private Object storeResponse(Pending p, Reply reply) {
        if (!(reply instanceof MetaReply m)) {
            return storeFailure(p, reply);
        }
        return switch (m.code()) {
            case "HD" -> ok(p, m.flag('c') == null ? 0 : Long.parseUnsignedLong(m.flag('c')));
            case "NS" -> storeFailure(p, StatusReply.NOT_STORED);
            case "EX" -> storeFailure(p, StatusReply.EXISTS);
            case "NF" -> storeFailure(p, StatusReply.NOT_FOUND);
            default -> error(p, reply);
        };
    }

    private Object storeFailure(Pending p, Reply reply) {
        if (reply == StatusReply.NOT_STORED) {
            return switch (p.opcode) {
                // what memcached answers for each verb that did not store
                case ADD, ADDQ -> response(p, KEY_EEXISTS, "Data exists for key.", 0);
                case REPLACE, REPLACEQ -> response(p, KEY_ENOENT, "Not found", 0);
                default -> response(p, NOT_STORED, "Not stored.", 0);
            };
        }
        if (reply == StatusReply.EXISTS) {
            return response(p, KEY_EEXISTS, "Data exists for key.", 0);
        }
        if (reply == StatusReply.NOT_FOUND) {
            return response(p, KEY_ENOENT, "Not found", 0);
        }
        return error(p, reply);
    }

    private Object deleteFailure(Pending p, Reply reply) {
        if (reply instanceof MetaReply m && m.code().equals("EX")) {
            return response(p, KEY_EEXISTS, "Data exists for key.", 0); // md with a cas that differs
        }
        boolean notFound = reply == StatusReply.NOT_FOUND || reply instanceof MetaReply m && m.code().equals("NF");
        return notFound ? response(p, KEY_ENOENT, "Not found", 0) : error(p, reply);
    }

    /** A reply that is not the verb's expected outcome: memcached's binary status for the text error. */
    private Object error(Pending p, Reply reply) {
        if (reply instanceof ErrorReply e) {
            return switch (e.kind()) {
                case ERROR -> response(p, UNKNOWN_COMMAND, "Unknown command", 0);
                case CLIENT_ERROR -> e.message().startsWith(NON_NUMERIC)
                        ? response(p, DELTA_BADVAL, "Non-numeric server-side value for incr or decr", 0)
                        : response(p, EINVAL, "Invalid arguments", 0);
                case SERVER_ERROR -> {
                    if (e.message().startsWith("object too large")) {
                        yield response(p, E2BIG, "Too large.", 0);
                    } else if (e.message().startsWith("out of memory")) {
                        yield response(p, ENOMEM, "Out of memory", 0);
                    }
                    // a proxy's own failure (no server could answer): the text tells the operator why
                    yield response(p, EINTERNAL, e.message(), 0);
                }
            };
        }
        return response(p, EINTERNAL, "unexpected reply " + reply.getClass().getSimpleName(), 0);
    }

    private Object hit(Pending p, Value v) {
        ByteBuf extras = ctx.alloc().buffer(4).writeInt(v.flags());
        ByteBuf key = p.echoKey ? Unpooled.wrappedBuffer(p.key) : Unpooled.EMPTY_BUFFER;
        // a duplicate: a batch may answer two requests for one key with the same value, and a write moves indexes
        ByteBuf data = p.kind == Kind.TOUCH ? Unpooled.EMPTY_BUFFER : v.data().retainedDuplicate();
        return full(p, SUCCESS, key, extras, data, v.hasCas() ? v.casUnique() : 0);
    }

    private Object miss(Pending p) {
        if (p.echoKey) {
            // memcached echoes the key of a getk/gatk miss instead of the "Not found" text
            return full(p, KEY_ENOENT, Unpooled.wrappedBuffer(p.key), Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, 0);
        }
        return response(p, KEY_ENOENT, "Not found", 0);
    }

    /** One response per statistic, the key its name and the value its value, then an empty one. */
    private Object stats(Pending p, Reply reply) {
        if (TextReply.RESET.equals(reply) || reply == StatusReply.OK) {
            return success(p, 0); // stat reset, stat detail on|off: memcached sends the end alone
        }
        if (reply instanceof TextReply dump) {
            // stat detail dump: memcached sends its text under the key "detailed", then the end
            return List.of(full(p, SUCCESS, Unpooled.copiedBuffer("detailed", StandardCharsets.US_ASCII),
                    Unpooled.EMPTY_BUFFER, Unpooled.copiedBuffer(dump.text(), StandardCharsets.ISO_8859_1), 0),
                    success(p, 0));
        }
        if (!(reply instanceof StatsReply s)) {
            return response(p, KEY_ENOENT, "Not found", 0);
        }
        List<Object> out = new ArrayList<>(s.stats().size() + 1);
        for (Stat stat : s.stats()) {
            out.add(full(p, SUCCESS, Unpooled.copiedBuffer(stat.name(), StandardCharsets.US_ASCII), Unpooled.EMPTY_BUFFER,
                    Unpooled.copiedBuffer(stat.value(), StandardCharsets.UTF_8), 0));
        }
        out.add(success(p, 0));
        return out;
    }

    private static Object success(Pending p, long cas) {
        return full(p, SUCCESS, Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, cas);
    }

    private static Object response(Pending p, short status, String body, long cas) {
        ByteBuf content = body == null ? Unpooled.EMPTY_BUFFER : Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII);
        return full(p, status, Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, content, cas);
    }

    /** Success: nothing for a quiet request, else an empty response with the cas. */
    private static Object ok(Pending p, long cas) {
        return p.quiet ? null : success(p, cas);
    }

    private static FullBinaryMemcacheResponse full(Pending p, short status, ByteBuf key, ByteBuf extras,
                                                    ByteBuf content, long cas) {
        DefaultFullBinaryMemcacheResponse r = new DefaultFullBinaryMemcacheResponse(key, extras, content);
        r.setOpcode(p.opcode);
        r.setOpaque(p.opaque);
        r.setStatus(status);
        r.setCas(cas);
        r.setTotalBodyLength(key.readableBytes() + extras.readableBytes() + content.readableBytes());
        return r;
    }

    /** What a request's replies mean. */
    private enum Kind {
        /** Answered here: a version token keeps its place in the next handler's order, its reply dropped. */
        LOCAL,
        VERSION,
        FLUSH,
        /** get, gat and their K and Q variants: a gets or gats. */
        GET,
        /** touch: a gats whose value is dropped. */
        TOUCH,
        /** set, add, replace, append, prepend, cas: the store, then (unless quiet) a gets for the cas. */
        STORE,
        DELETE,
        /** delete with a cas: a gets, then the delete if the cas matched. */
        DELETE_CAS,
        /** incr/decr: the incr, the add of the initial value if asked for, then (unless quiet) a gets. */
        ARITHMETIC,
        /** Quiet gets sent as one gets: answers its members, never written itself (it is not in the order). */
        BATCH,
        STAT
    }

    /** One request in the reply order. */
    private static final class Pending {
        final byte opcode;
        final int opaque;
        final boolean quiet;
        final boolean echoKey;
        final Kind kind;
        final byte[] key;
        Reply[] replies;
        int expected;
        int received;
        long cas;
        long initial;
        boolean create;
        boolean closeAfter;
        boolean done;
        /** A batch's requests, in order. */
        List<Pending> members;
        /** An answer made here, held until the request's turn comes back from the next handler. */
        Object preset;
        /** The response: a message, a list of them, or null for none. */
        Object response;

        Pending(BinaryMemcacheRequest r, Kind kind, byte[] key) {
            this.opcode = r == null ? NOOP : r.opcode();
            this.opaque = r == null ? 0 : r.opaque();
            this.quiet = r != null && isQuiet(r.opcode());
            this.echoKey = r != null && echoesKey(r.opcode());
            this.kind = kind;
            this.key = key;
        }

        void done(Object answer) {
            response = answer;
            done = true;
        }

        void release() {
            if (replies != null) {
                for (int i = 0; i < received; i++) {
                    ReferenceCountUtil.release(replies[i]);
                    replies[i] = null;
                }
            }
            if (response instanceof List<?> many) {
                many.forEach(ReferenceCountUtil::release);
            } else {
                ReferenceCountUtil.release(response);
            }
            response = null;
            ReferenceCountUtil.release(preset);
            preset = null;
        }
    }
}
