package dev.magent.core.backend;

import dev.magent.core.ServerAddress;
import dev.magent.core.Transport;
import dev.magent.protocol.Command;
import dev.magent.protocol.FlushAllCommand;
import dev.magent.protocol.MemcacheClientCodec;
import dev.magent.protocol.ProtocolLimits;
import dev.magent.protocol.RetrievalCommand;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * One event loop's keep-alive connections to one server. Requests are pipelined: a connection takes more
 * requests while it waits, and another connection is opened only when every open one is busy, because
 * fewer, fuller connections mean fewer syscalls per request on both sides.
 */
public final class BackendPool implements Backend {
    /** Connections per server per event loop that keyed commands spread over. */
    private static final int AFFINITY_WAYS = 4;
    /** In-flight requests on a connection above which the pool prefers opening another one. */
    private static final int BUSY_THRESHOLD = 32;

    private final BackendServer server;
    private final Bootstrap bootstrap;
    private final long timeoutNanos;
    private final BackendConnection[] slots;
    private final SslContext tls;
    private LoopContext loop;
    /** False for the proxy's own bookkeeping traffic: not counted in the server's requests and latency. */
    private boolean counted = true;

    public BackendPool(BackendServer server, Bootstrap bootstrap, SslContext tls, int size, long timeoutNanos) {
        this.server = server;
        this.bootstrap = bootstrap;
        this.tls = tls;
        this.timeoutNanos = timeoutNanos;
        this.slots = new BackendConnection[size];
    }

    public void attach(LoopContext loop) {
        this.loop = loop;
    }

    /** Keeps this pool's requests out of the server's request count and latency (failures still count). */
    public BackendPool uncounted() {
        this.counted = false;
        return this;
    }

    BackendServer server() {
        return server;
    }

    /** Open connections in this pool. */
    int openConnections() {
        int n = 0;
        for (BackendConnection c : slots) {
            if (c != null && !c.isClosed()) {
                n++;
            }
        }
        return n;
    }

    /**
     * Sends one command; see {@link BackendConnection#send}. Commands for the same key always take the
     * same connection, so that two writes of one key (or a write and the read after it) reach the server
     * in the order they were sent: on different connections a delete could overtake the set before it.
     */
    @Override
    public void send(Command command, Completion promise) {
        if (command instanceof FlushAllCommand) {
            // a flush must reach the server before any later keyed command of this loop, whichever of the
            // key-affine connections that one takes: send it on each (flush_all is idempotent)
            int ways = Math.min(slots.length, AFFINITY_WAYS);
            for (int i = 1; i < ways; i++) {
                slot(i).send(command, Completion.DISCARD);
            }
            slot(0).send(command, promise);
            return;
        }
        int ways = Math.min(slots.length, AFFINITY_WAYS);
        if (ways > 1 && command instanceof RetrievalCommand r && r.keys().size() > 1) {
            sendByWay(r, ways, promise);
            return;
        }
        byte[] key = command instanceof RetrievalCommand r ? r.keys().get(0) : CommandKeys.keyOf(command);
        BackendConnection c = key == null ? choose() : forKey(key);
        if (c == null) {
            ReferenceCountUtil.release(command);
            promise.accept(null, new BackendException(BackendException.Reason.SHUTDOWN,
                    server.address(), "pool closed"));
            return;
        }
        c.send(command, promise);
    }

    /**
     * A multi-key retrieval whose keys live on different key-affine connections: each key must be read on
     * its own key's connection, behind the writes of that key sent before it, so the retrieval is split by
     * connection and the hits merged back in key order.
     */
    private void sendByWay(RetrievalCommand r, int ways, Completion promise) {
        List<byte[]> keys = r.keys();
        int[] wayOf = new int[keys.size()];
        int used = 0;
        for (int i = 0; i < wayOf.length; i++) {
            wayOf[i] = way(keys.get(i), ways);
            used |= 1 << wayOf[i];
        }
        if (Integer.bitCount(used) == 1) {
            slot(wayOf[0]).send(r, promise);
            return;
        }
        SplitRetrieval split = new SplitRetrieval(keys, wayOf, ways, promise);
        for (int w = 0; w < ways; w++) {
            if ((used & (1 << w)) != 0) {
                List<byte[]> part = new ArrayList<>();
                for (int i = 0; i < wayOf.length; i++) {
                    if (wayOf[i] == w) {
                        part.add(keys.get(i));
                    }
                }
                int way = w;
                slot(w).send(new RetrievalCommand(r.verb(), part, r.exptime()),
                        (reply, failure) -> split.answered(way, reply, failure));
            }
        }
    }

    /**
     * The connection for a key: one of at most {@link #AFFINITY_WAYS} slots, chosen by the key's hash;
     * few and full connections keep the syscalls per request low on both sides.
     */
    private BackendConnection forKey(byte[] key) {
        return slot(way(key, Math.min(slots.length, AFFINITY_WAYS)));
    }

    private static int way(byte[] key, int ways) {
        int h = 1;
        for (byte b : key) {
            h = 31 * h + b;
        }
        return (h & 0x7FFFFFFF) % ways;
    }

    /** The connection in a slot, opened if it is not. */
    private BackendConnection slot(int i) {
        BackendConnection c = slots[i];
        if (c == null || c.isClosed()) {
            c = open();
            slots[i] = c;
        }
        return c;
    }

    private BackendConnection choose() {
        BackendConnection best = null;
        int free = -1;
        for (int i = 0; i < slots.length; i++) {
            BackendConnection c = slots[i];
            if (c == null || c.isClosed()) {
                if (free < 0) {
                    free = i;
                }
            } else if (best == null || c.inFlight() < best.inFlight()) {
                best = c;
            }
        }
        if (free >= 0 && (best == null || best.inFlight() >= BUSY_THRESHOLD)) {
            BackendConnection opened = open();
            slots[free] = opened;
            return opened;
        }
        return best;
    }

    private BackendConnection open() {
        ServerAddress a = server.address();
        BackendConnection connection = new BackendConnection(server, loop, timeoutNanos, counted);
        ChannelFuture f = bootstrap.clone(loop.loop())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        BackendTls.addTo(ch, tls, a);
                        ch.pipeline().addLast("codec", new MemcacheClientCodec(BACKEND_LIMITS));
                        ch.pipeline().addLast("connection", connection);
                    }
                })
                .connect(new InetSocketAddress(a.host(), a.port()));
        connection.attach(f.channel());
        f.addListener(done -> connection.connectDone((ChannelFuture) done));
        return connection;
    }

    /** Its connections' flow-control states, for debug logs and tests. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (BackendConnection c : slots) {
            if (c != null) {
                sb.append(c).append('\n');
            }
        }
        return sb.toString();
    }

    /** Closes every connection; outstanding requests fail with a shutdown error. */
    public void close() {
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null) {
                slots[i].close();
                slots[i] = null;
            }
        }
    }

    /** Replies from memcached may carry items larger than what clients may store through us. */
    public static final ProtocolLimits BACKEND_LIMITS = new ProtocolLimits(250, 8192, 8192, 128 * 1024 * 1024);

    public static Bootstrap baseBootstrap(Transport transport, long connectTimeoutMillis) {
        return new Bootstrap()
                .channel(transport.clientChannel())
                .option(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
                .option(ChannelOption.TCP_NODELAY, true)
                // past the high mark the connection holds the clients feeding it (see BackendConnection)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 1 << 20))
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, connectTimeoutMillis));
    }
}
