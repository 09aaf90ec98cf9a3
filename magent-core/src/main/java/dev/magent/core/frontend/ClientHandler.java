package dev.magent.core.frontend;

import dev.magent.core.ProxyConfig;
import dev.magent.core.backend.Backend;
import dev.magent.core.backend.BackendConnection;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.LoopContext;
import dev.magent.core.route.Router;
import dev.magent.core.route.StatsFanOut;
import dev.magent.protocol.AdminCommand;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.ProtocolError;
import dev.magent.protocol.QuitCommand;
import dev.magent.protocol.Reply;
import dev.magent.protocol.ServerCommand;
import dev.magent.protocol.StatsCommand;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.VerbosityCommand;
import dev.magent.protocol.VersionCommand;
import dev.magent.protocol.VersionReply;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: hands each decoded command to the router and writes the replies back in request
 * order, however the backends' answers interleave.
 *
 * <p>Flow control, as memcached and TCP do it: the proxy stops reading from a client (and keeps the requests
 * it already decoded in a backlog) while any of these holds, and resumes once all have cleared:
 * <ul>
 *   <li>its window of unanswered requests is full (noreply requests count too: they are answered by the
 *       server, only not to the client). The window starts at {@link #INITIAL_WINDOW}, grows by one for
 *       each reply the client takes while it keeps up, up to {@link #MAX_IN_FLIGHT}, and halves when its
 *       replies pile up: a client that asks for large values and does not read them has few in flight,
 *       so it cannot make the servers send the proxy more than it will take;</li>
 *   <li>the client has not read enough of its replies (the channel is above its write-buffer high-water
 *       mark);</li>
 *   <li>a backend connection this client sends to has too much waiting (it holds this client, see
 *       {@link LoopContext.Feeder}).</li>
 * </ul>
 * A busy server is never answered with an error: its clients are slowed down. A client that has more than
 * {@link ProxyConfig#clientBufferLimit()} bytes waiting in the proxy anyway (replies of requests already
 * sent when it stopped reading) is disconnected, with a log line: the only failure it causes is its own.
 */
public final class ClientHandler extends ChannelInboundHandlerAdapter
        implements LoopContext.Flushable, LoopContext.Feeder {
    private static final Logger log = LoggerFactory.getLogger(ClientHandler.class);
    /** The most requests in flight per client. */
    public static final int MAX_IN_FLIGHT = 1024;
    /** A new client's window: a deep pipeline reaches the full window after a few round trips. */
    static final int INITIAL_WINDOW = 64;
    /** The window never shrinks below this. */
    static final int MIN_WINDOW = 8;
    /** memcached's exact refusal when it is out of connections. */
    private static final byte[] TOO_MANY_CONNECTIONS =
            "ERROR Too many open connections\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ProxyRuntime runtime;
    private final long bufferLimit;
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    /** Requests decoded while this client was held back: handled, in order, once it may go on. */
    private final ArrayDeque<Object> backlog = new ArrayDeque<>();
    private long backlogBytes;
    /** Bytes of replies answered but waiting for an earlier one. */
    private long heldReplyBytes;
    /** Backend connections holding this client. */
    private int holds;
    /** Requests this client may have in flight now (see the class comment). */
    private int window = INITIAL_WINDOW;
    private ChannelHandlerContext ctx;
    private Router router;
    /** Routes each mutation on its key's owner loop: one order per key (see {@link KeyOwners}). */
    private KeyOrder order;
    private boolean counted;
    private boolean flushQueued;
    private boolean closing;
    private boolean readPaused;
    private boolean dispatching;

    public ClientHandler(ProxyRuntime runtime) {
        this.runtime = runtime;
        this.bufferLimit = runtime.config().clientBufferLimit();
    }

    /** Requests accepted but not yet answered, counted on this connection's loop; null before it is active. */
    Future<Integer> countInFlight() {
        ChannelHandlerContext c = ctx;
        return c == null ? null : c.executor().submit(slots::size);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        int open = runtime.stats().connectionOpened();
        counted = true;
        if (open > runtime.config().maxConnections()) {
            runtime.stats().connectionRejected();
            closing = true;
            log.debug("refusing {}: {} connections open", ctx.channel().remoteAddress(), open - 1);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(TOO_MANY_CONNECTIONS)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        router = runtime.routerFor(ctx.channel().eventLoop());
        KeyOwners owners = runtime.keyOwners();
        order = new KeyOrder(owners, owners.indexOf(router), this::resume);
        runtime.clientOpened(this);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (counted) {
            runtime.stats().connectionClosed();
            counted = false;
        }
        runtime.clientClosed(this);
        closing = true;
        releaseBacklog();
        // replies still pending are dropped when they arrive
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!backlog.isEmpty() || mustWait() || order.mustWait(msg)) {
            // bytes already read are decoded whatever autoRead says: they wait here, not in the backends
            long bytes = requestBytes(msg);
            backlog.add(msg);
            backlogBytes += bytes;
            pauseReading();
            checkBufferLimit(bytes);
            return;
        }
        dispatch(msg);
        if (mustWait()) {
            pauseReading();
        }
    }

    /** True while this client may not send more requests on. */
    private boolean mustWait() {
        return holds > 0 || slots.size() >= window || !ctx.channel().isWritable();
    }

    private void dispatch(Object msg) {
        if (msg instanceof Command command) {
            runtime.stats().command(command.verb());
            LoopContext loop = router.loopContext();
            // a reply answered at once can resume this client's backlog from inside handle(): restore, not clear
            LoopContext.Feeder outer = loop.feeding();
            loop.feeding(this);
            try {
                handle(command);
            } finally {
                loop.feeding(outer);
            }
        } else if (msg instanceof ProtocolError error) {
            runtime.stats().protocolError();
            Slot slot = new Slot(error.closeConnection(), false);
            slots.add(slot);
            // a silent error (memcached closes without a word) still keeps its place in the reply order
            slot.accept(error.silent() ? null : error.reply(), null);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void handle(Command command) {
        if (command instanceof QuitCommand) {
            Slot slot = new Slot(true, false);
            slots.add(slot);
            slot.accept(null, null);
            return;
        }
        // noreply requests take a slot too: they count against the in-flight limit and keep their order
        Slot sink = new Slot(false, command.noreply());
        slots.add(sink); // before routing: the reply may come at once
        if (command instanceof VersionCommand) {
            sink.accept(new VersionReply(runtime.protocolVersion()), null);
        } else if (command instanceof StatsCommand s) {
            StatsFanOut.answer(runtime, router, s, sink);
        } else if (command instanceof VerbosityCommand || command instanceof ServerCommand) {
            AdminCommands.answer(runtime, router, command, sink);
        } else if (command instanceof AdminCommand admin) {
            sink.accept(runtime.admin(admin.arguments()), null);
        } else {
            order.route(command, sink);
        }
    }

    private void pauseReading() {
        if (!readPaused) {
            readPaused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    /**
     * Sends on the backlog while nothing holds this client back, then reads again once it is well below
     * every limit (hysteresis: resuming at the limit itself would pause again at once).
     */
    private void resume() {
        if (closing || dispatching || !readPaused) {
            return;
        }
        dispatching = true;
        try {
            Object next;
            while (!closing && !mustWait() && (next = backlog.peek()) != null && !order.mustWait(next)) {
                backlog.poll();
                backlogBytes -= requestBytes(next);
                dispatch(next);
            }
        } finally {
            dispatching = false;
        }
        if (!closing && backlog.isEmpty() && holds == 0 && slots.size() < window / 2
                && ctx.channel().isWritable()) {
            readPaused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void hold() {
        holds++;
    }

    @Override
    public void letGo() {
        if (--holds == 0) {
            resume();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            resume();
        } else {
            window = Math.max(MIN_WINDOW, window / 2);
            pauseReading();
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** Writes every answered reply at the head of the queue, in order. */
    private void drain() {
        boolean wrote = false;
        int answered = 0;
        Slot head;
        while ((head = slots.peek()) != null && head.done) {
            answered++;
            slots.poll();
            heldReplyBytes -= head.heldBytes;
            if (head.reply != null) {
                if (closing) {
                    ReferenceCountUtil.release(head.reply);
                } else {
                    long before = unwrittenBytes();
                    ctx.write(head.reply, ctx.voidPromise());
                    wrote = true;
                    checkBufferLimit(unwrittenBytes() - before);
                }
            }
            if (head.closeAfter && !closing) {
                closing = true;
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }
        if (wrote && !flushQueued && !closing) {
            flushQueued = true;
            router.loopContext().scheduleFlush(this);
        }
        if (window < MAX_IN_FLIGHT && !closing && ctx.channel().isWritable()) {
            window = Math.min(MAX_IN_FLIGHT, window + answered);
        }
        if (readPaused && !closing) {
            resume();
        }
    }

    /** Replies written to the channel that the client has not taken yet. */
    private long unwrittenBytes() {
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    /**
     * Disconnects a client with more than the limit waiting in the proxy. {@code newest} is the size of what
     * was just added: one reply larger than the limit is still sent when nothing else was waiting.
     */
    private void checkBufferLimit(long newest) {
        if (closing) {
            return;
        }
        long unwritten = unwrittenBytes();
        long total = unwritten + heldReplyBytes + backlogBytes;
        if (total > bufferLimit && total - newest > 0) {
            runtime.stats().clientOverBufferLimit();
            log.warn("closing client {}: {} bytes waiting in the proxy ({} of replies it has not read, {} of "
                            + "replies behind them, {} of requests not yet sent), over the limit of {} "
                            + "(--client-buffer-limit)", ctx.channel().remoteAddress(), total, unwritten,
                    heldReplyBytes, backlogBytes, bufferLimit);
            closing = true;
            releaseBacklog();
            ctx.close();
        }
    }

    private void releaseBacklog() {
        Object m;
        while ((m = backlog.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
        backlogBytes = 0;
    }

    /** The bytes a decoded request holds: its data block, if any, and a line's worth. */
    private static long requestBytes(Object msg) {
        return msg instanceof StorageCommand s ? s.value().readableBytes() + 64L : 64L;
    }

    /** The bytes of a reply's data blocks (the lines are small next to them). */
    private static long replyBytes(Reply r) {
        long n = 32;
        if (r instanceof ValuesReply v) {
            for (Value value : v.values()) {
                n += value.data().readableBytes() + 48L;
            }
        }
        return n;
    }

    @Override
    public void flushPending() {
        flushQueued = false;
        ctx.flush();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && slots.isEmpty() && backlog.isEmpty()) {
            log.debug("closing idle client {}", ctx.channel().remoteAddress());
            closing = true;
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (BackendConnection.isLocal(cause)) {
            log.warn("closing client {}: the proxy is out of memory serving it: {}",
                    ctx.channel().remoteAddress(), cause.toString());
        } else {
            log.debug("client {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        closing = true;
        releaseBacklog();
        ctx.close();
    }

    /** Its flow-control state, for debug logs and tests (read off its loop: a snapshot, not exact). */
    @Override
    public String toString() {
        return "client " + (ctx == null ? "?" : ctx.channel().remoteAddress()) + " in flight " + slots.size()
                + "/" + window + ", backlog " + backlog.size() + ", held by " + holds
                + (readPaused ? ", paused" : "") + (ctx != null && !ctx.channel().isWritable() ? ", unwritable" : "")
                + (ctx != null && !ctx.channel().config().isAutoRead() ? ", not reading" : "")
                + (closing ? ", closing" : "");
    }

    /** A place in the reply order, filled when the reply arrives. */
    private final class Slot implements Completion {
        private final boolean closeAfter;
        /** A noreply request: its place is kept, its reply dropped. */
        private final boolean silent;
        private Reply reply;
        private boolean done;
        private long heldBytes;

        Slot(boolean closeAfter, boolean silent) {
            this.closeAfter = closeAfter;
            this.silent = silent;
        }

        @Override
        public void accept(Reply answer, Throwable failure) {
            if (!ctx.executor().inEventLoop()) {
                ctx.executor().execute(() -> accept(answer, failure));
                return;
            }
            Reply r = answer;
            if (failure != null) {
                log.error("unexpected failure answering a request", failure);
                r = ErrorReply.server("internal error: " + failure.getClass().getSimpleName());
            }
            if (silent) {
                ReferenceCountUtil.release(r);
                r = null;
            }
            reply = r;
            done = true;
            if (r != null && slots.peek() != this && !closing) {
                // answered before an earlier request: it waits in the proxy, and counts against the limit
                heldBytes = replyBytes(r);
                heldReplyBytes += heldBytes;
                checkBufferLimit(heldBytes);
            }
            drain();
        }
    }
}
