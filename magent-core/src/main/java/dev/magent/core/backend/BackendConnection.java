package dev.magent.core.backend;

import dev.magent.protocol.Command;
import dev.magent.protocol.ProtocolError;
import dev.magent.protocol.Reply;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pipelined connection to a backend server. Requests are written in order and their replies matched
 * in order from a FIFO; the oldest request's deadline is the only timer, and it times out only when the
 * server has answered nothing for the whole timeout (a deep queue drained steadily is a busy server, not a
 * dead one). A timeout, a protocol error or a closed socket fails every outstanding request and closes the
 * connection: after that the reply stream can no longer be matched to requests. Used only from its event
 * loop.
 *
 * <p>Flow control: while more than {@link #HIGH_IN_FLIGHT} requests wait, or more bytes are written than the
 * socket takes, each client that sends here is held (it stops reading) until the connection is below its
 * low-water marks again. Requests are never refused for being many.
 */
public final class BackendConnection extends ChannelInboundHandlerAdapter implements LoopContext.Flushable {
    private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

    private final BackendServer server;
    private final LoopContext loop;
    private final long timeoutNanos;
    private Channel channel;
    /** Clients held because they fed this connection while it had too much waiting. */
    private final ArrayList<LoopContext.Feeder> held = new ArrayList<>();

    // The in-flight FIFO as a ring of two parallel arrays: no allocation per request beyond its completion.
    private Completion[] promises = new Completion[16];
    private long[] deadlines = new long[16];
    private int head;
    private int size;

    private List<Command> unsent = new ArrayList<>();
    private boolean active;
    private boolean closed;
    private boolean closedByUs;
    private boolean flushQueued;
    private ScheduledFuture<?> timer;
    /** How long after a missed deadline it is checked again, once the loop has read its sockets. */
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** The deadline that was found passed once already (then the next check may fail the connection). */
    private long lastCheckMissed;
    /** When the last reply came: a server that keeps answering a deep queue is busy, not dead. */
    private long lastReplyNanos = Long.MIN_VALUE / 2;

    /**
     * Requests in flight at which the clients feeding this connection are held: beyond it a request would
     * mostly wait here, and its timeout would start counting long before memcached saw it.
     */
    static final int HIGH_IN_FLIGHT = 1024;
    /** Requests in flight below which held clients are let go. */
    static final int LOW_IN_FLIGHT = HIGH_IN_FLIGHT / 2;

    private final boolean counted;

    BackendConnection(BackendServer server, LoopContext loop, long timeoutNanos) {
        this(server, loop, timeoutNanos, true);
    }

    BackendConnection(BackendServer server, LoopContext loop, long timeoutNanos, boolean counted) {
        this.counted = counted;
        this.server = server;
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
    }

    void attach(Channel ch) {
        this.channel = ch;
    }

    /** Called once the connect attempt finished; until then requests wait in {@code unsent}. */
    void connectDone(ChannelFuture f) {
        if (closed) {
            return;
        }
        if (f.isSuccess()) {
            active = true;
            server.connectionOpened();
            server.connectionEstablished();
            List<Command> queued = unsent;
            unsent = null;
            for (Command c : queued) {
                channel.write(c, channel.voidPromise());
            }
            if (!queued.isEmpty()) {
                queueFlush();
            }
        } else {
            fail(new BackendException(BackendException.Reason.CONNECTION, server.address(),
                    "connect failed: " + describe(f.cause())), true);
        }
    }

    /** Requests in flight (sent or waiting for the connection). */
    int inFlight() {
        return size;
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Sends a command; takes ownership of it (it is released once written, or here if it cannot be).
     * The completion is called on this event loop with the reply, which the receiver must release, or with
     * a {@link BackendException}.
     */
    void send(Command command, Completion promise) {
        if (closed) {
            ReferenceCountUtil.release(command);
            promise.accept(null, new BackendException(BackendException.Reason.CONNECTION,
                    server.address(), "connection closed"));
            return;
        }
        push(promise, System.nanoTime() + timeoutNanos);
        if (counted) {
            server.requestSent();
        }
        if (active) {
            channel.write(command, channel.voidPromise());
            queueFlush();
        } else {
            unsent.add(command);
        }
        if (timer == null) {
            timer = channel.eventLoop().schedule(this::checkDeadline, timeoutNanos, TimeUnit.NANOSECONDS);
        }
        LoopContext.Feeder client = loop.feeding();
        if (client != null && saturated() && !held.contains(client)) {
            held.add(client);
            client.hold();
        }
    }

    /** Too much is waiting: in flight beyond the high-water mark, or more written than the socket takes. */
    private boolean saturated() {
        return size >= HIGH_IN_FLIGHT || (active && !channel.isWritable());
    }

    /** Lets every held client go once this connection has drained below its low-water marks. */
    private void letGoIfDrained() {
        if (!held.isEmpty() && size <= LOW_IN_FLIGHT && (!active || channel.isWritable())) {
            letGoAll();
        }
    }

    private void letGoAll() {
        if (held.isEmpty()) {
            return;
        }
        // a client let go may send here again at once and be held anew: work on a copy
        LoopContext.Feeder[] clients = held.toArray(new LoopContext.Feeder[0]);
        held.clear();
        for (LoopContext.Feeder c : clients) {
            c.letGo();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        letGoIfDrained();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        letGoIfDrained();
        ctx.fireChannelWritabilityChanged();
    }

    private void queueFlush() {
        if (!flushQueued) {
            flushQueued = true;
            loop.scheduleFlush(this);
        }
    }

    @Override
    public void flushPending() {
        flushQueued = false;
        if (!closed) {
            channel.flush();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Reply reply) {
            if (size == 0) {
                ReferenceCountUtil.release(reply);
                protocolFailure("a reply nobody asked for: " + reply.getClass().getSimpleName());
                return;
            }
            long sentAt = deadlines[head] - timeoutNanos;
            Completion promise = pop();
            server.recordSuccess();
            lastReplyNanos = System.nanoTime();
            if (counted) {
                server.latency().record(lastReplyNanos - sentAt);
            }
            promise.accept(reply, null);
        } else if (msg instanceof ProtocolError error) {
            protocolFailure(error.reply().message().isEmpty() ? "unparsable reply" : error.reply().message());
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void protocolFailure(String detail) {
        fail(new BackendException(BackendException.Reason.PROTOCOL, server.address(), detail), true);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (active) {
            server.connectionClosed();
            active = false;
        }
        if (!closed) {
            fail(new BackendException(BackendException.Reason.CONNECTION, server.address(),
                    "connection closed by the server"), true);
            server.connectionLost();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (isLocal(cause)) {
            // the proxy ran out of memory reading the reply: the server did nothing wrong
            log.error("{}: dropping the connection, the proxy could not take its reply: {} "
                    + "(not counted against the server)", server, describe(cause));
            fail(new BackendException(BackendException.Reason.LOCAL, server.address(),
                    "proxy out of memory: " + describe(cause)), false);
            return;
        }
        fail(new BackendException(BackendException.Reason.CONNECTION, server.address(), describe(cause)), true);
    }

    /** A failure of the proxy's own resources (heap or direct memory), not of the server or the network. */
    public static boolean isLocal(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    private void checkDeadline() {
        timer = null;
        if (closed || size == 0) {
            return;
        }
        long now = System.nanoTime();
        // the oldest request's deadline, pushed back while replies keep coming: a request waits behind the
        // ones before it, and only a server that stopped answering has failed
        long oldest = deadlines[head];
        if (lastReplyNanos + timeoutNanos - oldest > 0) {
            oldest = lastReplyNanos + timeoutNanos;
        }
        if (oldest - now > 0) {
            timer = channel.eventLoop().schedule(this::checkDeadline, oldest - now, TimeUnit.NANOSECONDS);
        } else if (lastCheckMissed != oldest) {
            // This loop may have been busy past the deadline (a long batch of other work, a GC pause) with
            // the replies already in the socket: look again after it has read its sockets once more.
            lastCheckMissed = oldest;
            timer = channel.eventLoop().schedule(this::checkDeadline, RECHECK_NANOS, TimeUnit.NANOSECONDS);
        } else {
            fail(new BackendException(BackendException.Reason.TIMEOUT, server.address(),
                    "no reply within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms" + waiting()), true);
        }
    }

    /** What was waiting when a request timed out, for the log: tells a stalled server from a stalled proxy. */
    private String waiting() {
        io.netty.channel.ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return " (" + size + " requests waiting, " + (out == null ? 0 : out.totalPendingWriteBytes())
                + " bytes of them not yet taken by the socket" + (active ? "" : ", still connecting") + ")";
    }

    /** Its flow-control state, for debug logs and tests (read off its loop: a snapshot, not exact). */
    @Override
    public String toString() {
        return "connection to " + server.address() + ": " + size + " waiting, holding " + held.size()
                + (active ? "" : ", connecting") + (closed ? ", closed" : "")
                + (channel != null && !channel.isWritable() ? ", unwritable" : "") + waiting();
    }

    /** Closes the connection on purpose (shutdown, pool trimming); outstanding requests fail. */
    void close() {
        if (!closed) {
            fail(new BackendException(BackendException.Reason.SHUTDOWN, server.address(), "connection closed"),
                    false);
        }
    }

    private void fail(BackendException cause, boolean countsAgainstServer) {
        if (closed) {
            return;
        }
        closed = true;
        closedByUs = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (unsent != null) {
            unsent.forEach(ReferenceCountUtil::release);
            unsent = null;
        }
        if (countsAgainstServer) {
            log.debug("{}: {}", server, cause.getMessage());
            server.recordFailure(cause);
        }
        if (cause.reason() == BackendException.Reason.TIMEOUT && channel.isOpen()) {
            // An abortive close (RST): the requests still in the socket's send queue are dropped. A plain
            // close keeps retransmitting them, and after a cut link heals they would reach the server on
            // top of what replaced them (a hint replay, a later write): an increment applied twice.
            channel.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
        }
        channel.close();
        while (size > 0) {
            pop().accept(null, cause);
        }
        letGoAll();
    }

    private void push(Completion promise, long deadline) {
        if (size == promises.length) {
            grow();
        }
        int tail = (head + size) & (promises.length - 1);
        promises[tail] = promise;
        deadlines[tail] = deadline;
        size++;
    }

    private Completion pop() {
        Completion p = promises[head];
        promises[head] = null;
        head = (head + 1) & (promises.length - 1);
        size--;
        return p;
    }

    private void grow() {
        int n = promises.length;
        Completion[] np = new Completion[n * 2];
        long[] nd = new long[n * 2];
        for (int i = 0; i < size; i++) {
            np[i] = promises[(head + i) & (n - 1)];
            nd[i] = deadlines[(head + i) & (n - 1)];
        }
        promises = np;
        deadlines = nd;
        head = 0;
    }

    private static String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }
}
