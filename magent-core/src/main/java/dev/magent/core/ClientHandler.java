package dev.magent.core;

import dev.magent.protocol.AdminCommand;
import dev.magent.protocol.Command;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.ProtocolError;
import dev.magent.protocol.QuitCommand;
import dev.magent.protocol.Reply;
import dev.magent.protocol.ServerCommand;
import dev.magent.protocol.StatsCommand;
import dev.magent.protocol.VerbosityCommand;
import dev.magent.protocol.VersionCommand;
import dev.magent.protocol.VersionReply;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: hands each decoded command to the router and writes the replies back in request
 * order, however the backends' answers interleave. Stops reading while too many requests are in flight,
 * so a client that pipelines without reading cannot make the proxy grow without bound.
 */
final class ClientHandler extends ChannelInboundHandlerAdapter implements LoopContext.Flushable {
    private static final Logger log = LoggerFactory.getLogger(ClientHandler.class);
    /** Requests in flight per client above which the proxy stops reading from it. */
    static final int MAX_IN_FLIGHT = 1024;
    /** memcached's exact refusal when it is out of connections. */
    private static final byte[] TOO_MANY_CONNECTIONS =
            "ERROR Too many open connections\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ProxyRuntime runtime;
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private Router router;
    private boolean counted;
    private boolean flushQueued;
    private boolean closing;
    private boolean readPaused;

    ClientHandler(ProxyRuntime runtime) {
        this.runtime = runtime;
    }

    /** Requests accepted but not yet answered. */
    int inFlight() {
        return slots.size();
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
        // replies still pending are dropped when they arrive
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Command command) {
            runtime.stats().command(command.verb());
            handle(command);
        } else if (msg instanceof ProtocolError error) {
            runtime.stats().protocolError();
            Slot slot = new Slot(error.closeConnection());
            slots.add(slot);
            // a silent error (memcached closes without a word) still keeps its place in the reply order
            slot.accept(error.silent() ? null : error.reply(), null);
        } else {
            ReferenceCountUtil.release(msg);
        }
        if (slots.size() >= MAX_IN_FLIGHT && !readPaused) {
            readPaused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void handle(Command command) {
        if (command instanceof QuitCommand) {
            Slot slot = new Slot(true);
            slots.add(slot);
            slot.accept(null, null);
            return;
        }
        Completion sink;
        if (command.noreply()) {
            sink = Completion.DISCARD;
        } else {
            Slot slot = new Slot(false);
            slots.add(slot); // before routing: the reply may come at once
            sink = slot;
        }
        if (command instanceof VersionCommand) {
            sink.accept(new VersionReply(runtime.protocolVersion()), null);
        } else if (command instanceof StatsCommand s) {
            StatsFanOut.answer(runtime, router, s, sink);
        } else if (command instanceof VerbosityCommand || command instanceof ServerCommand) {
            AdminCommands.answer(runtime, router, command, sink);
        } else if (command instanceof AdminCommand admin) {
            sink.accept(runtime.admin(admin.arguments()), null);
        } else {
            router.route(command, sink);
        }
    }

    /** Writes every answered reply at the head of the queue, in order. */
    private void drain() {
        boolean wrote = false;
        Slot head;
        while ((head = slots.peek()) != null && head.done) {
            slots.poll();
            if (head.reply != null) {
                if (closing) {
                    ReferenceCountUtil.release(head.reply);
                } else {
                    ctx.write(head.reply, ctx.voidPromise());
                    wrote = true;
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
        if (readPaused && slots.size() < MAX_IN_FLIGHT / 2 && !closing) {
            readPaused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void flushPending() {
        flushQueued = false;
        ctx.flush();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && slots.isEmpty()) {
            log.debug("closing idle client {}", ctx.channel().remoteAddress());
            closing = true;
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("client {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        closing = true;
        ctx.close();
    }

    /** A place in the reply order, filled when the reply arrives. */
    private final class Slot implements Completion {
        private final boolean closeAfter;
        private Reply reply;
        private boolean done;

        Slot(boolean closeAfter) {
            this.closeAfter = closeAfter;
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
            reply = r;
            done = true;
            drain();
        }
    }
}
