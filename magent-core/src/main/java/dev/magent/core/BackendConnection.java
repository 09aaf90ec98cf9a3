package dev.magent.core;

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
 * in order from a FIFO; the oldest request's deadline is the only timer. A timeout, a protocol error or a
 * closed socket fails every outstanding request and closes the connection: after that the reply stream
 * can no longer be matched to requests. Used only from its event loop.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter implements LoopContext.Flushable {
    private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

    private final BackendServer server;
    private final LoopContext loop;
    private final long timeoutNanos;
    private final int maxInFlight;
    private Channel channel;

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

    BackendConnection(BackendServer server, LoopContext loop, long timeoutNanos, int maxInFlight) {
        this.server = server;
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
        this.maxInFlight = maxInFlight;
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
        if (size >= maxInFlight) {
            ReferenceCountUtil.release(command);
            promise.accept(null, new BackendException(BackendException.Reason.OVERLOAD,
                    server.address(), maxInFlight + " requests already waiting"));
            return;
        }
        push(promise, System.nanoTime() + timeoutNanos);
        server.requestSent();
        if (active) {
            channel.write(command, channel.voidPromise());
            queueFlush();
        } else {
            unsent.add(command);
        }
        if (timer == null) {
            timer = channel.eventLoop().schedule(this::checkDeadline, timeoutNanos, TimeUnit.NANOSECONDS);
        }
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
            server.latency().record(System.nanoTime() - sentAt);
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
        fail(new BackendException(BackendException.Reason.CONNECTION, server.address(), describe(cause)), true);
    }

    private void checkDeadline() {
        timer = null;
        if (closed || size == 0) {
            return;
        }
        long now = System.nanoTime();
        long oldest = deadlines[head];
        if (oldest - now <= 0) {
            fail(new BackendException(BackendException.Reason.TIMEOUT, server.address(),
                    "no reply within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"), true);
        } else {
            timer = channel.eventLoop().schedule(this::checkDeadline, oldest - now, TimeUnit.NANOSECONDS);
        }
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
        channel.close();
        while (size > 0) {
            pop().accept(null, cause);
        }
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
