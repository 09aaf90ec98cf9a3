package dev.magent.core.recovery;

import dev.magent.core.ServerAddress;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.BackendTls;
import dev.magent.protocol.MetadumpDecoder;
import dev.magent.protocol.MetadumpEntry;
import dev.magent.protocol.ProtocolError;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Streams one server's {@code lru_crawler metadump hash} (or {@code all} on a memcached before 1.6.9) on its
 * own connection and runs paced work on the
 * keys it lists (the resync's copy, the verify's comparison): reading stops while enough keys wait, so a
 * dump of millions of keys holds at most a few thousand in memory. The connection is the bootstrap's, which
 * must not read on its own ({@code AUTO_READ} off).
 */
final class MetadumpScan {
    private static final int QUEUE_LOW_WATER = 2048;
    /**
     * The hash table's walk (memcached >= 1.6.9): {@code metadump all} walks each sub-LRU from its tail and
     * misses an item the LRU maintainer moves between them meanwhile (a fetched item is bumped from COLD to
     * WARM); found on the meta branch, where a dump right after a read of the only key listed it 118 times
     * in 200, the hash walk 200 in 200.
     */
    private static final byte[] METADUMP_HASH = "lru_crawler metadump hash\r\n".getBytes(StandardCharsets.US_ASCII);
    /** For a memcached without the hash walk, which answers {@code BADCLASS} to it. */
    private static final byte[] METADUMP_ALL = "lru_crawler metadump all\r\n".getBytes(StandardCharsets.US_ASCII);

    private MetadumpScan() {
    }

    /**
     * Lists {@code source}'s keys; each key {@code keep} accepts gets {@code work}, at most {@code perSecond}
     * a second. Completes when the dump ended and every piece of work finished; fails when the source
     * refused the dump or the connection broke.
     */
    static CompletableFuture<Void> run(Bootstrap bootstrap, EventLoop loop, SslContext tls, BackendServer source,
                                       int perSecond, Predicate<byte[]> keep,
                                       Function<byte[], CompletableFuture<?>> work) {
        // BADCLASS comes before any key: the LRU walk then lists each key once too
        return walk(true, bootstrap, loop, tls, source, perSecond, keep, work).exceptionallyCompose(f ->
                f instanceof HashWalkRefused || f.getCause() instanceof HashWalkRefused
                        ? walk(false, bootstrap, loop, tls, source, perSecond, keep, work)
                        : CompletableFuture.failedFuture(f));
    }

    /** A memcached before 1.6.9 refused {@code metadump hash}: its LRUs are walked instead. */
    private static final class HashWalkRefused extends RuntimeException {
        HashWalkRefused() {
            super("lru_crawler metadump hash refused", null, false, false);
        }
    }

    private static CompletableFuture<Void> walk(boolean hash, Bootstrap bootstrap, EventLoop loop, SslContext tls,
                                                BackendServer source, int perSecond, Predicate<byte[]> keep,
                                                Function<byte[], CompletableFuture<?>> work) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ServerAddress a = source.address();
        ArrayDeque<byte[]> queue = new ArrayDeque<>();
        boolean[] ended = {false};
        Channel[] channel = {null};
        Iterator<byte[]> keys = new Iterator<>() {
            @Override
            public boolean hasNext() {
                return !queue.isEmpty();
            }

            @Override
            public byte[] next() {
                byte[] k = queue.poll();
                if (!ended[0] && queue.size() < QUEUE_LOW_WATER && channel[0] != null) {
                    channel[0].read();
                }
                return k;
            }
        };
        Pacer pacer = new Pacer(loop, perSecond, keys, work, done);
        bootstrap.clone(loop).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                BackendTls.addTo(ch, tls, source.address());
                ch.pipeline().addLast(new MetadumpDecoder());
                ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        channel[0] = ctx.channel();
                        ctx.writeAndFlush(Unpooled.wrappedBuffer(hash ? METADUMP_HASH : METADUMP_ALL));
                        ctx.read();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof MetadumpEntry e) {
                            if (!reserved(e.key()) && keep.test(e.key())) {
                                queue.add(e.key());
                            }
                        } else if (msg == MetadumpDecoder.END) {
                            ended[0] = true;
                            pacer.sourceEnded();
                            ctx.close();
                        } else if (msg instanceof ProtocolError err) {
                            ended[0] = true;
                            String why = err.reply().message();
                            pacer.fail(hash && why.startsWith("BADCLASS") ? new HashWalkRefused()
                                    : new IllegalStateException(source + " answered the metadump with: " + why));
                            ctx.close();
                        } else {
                            ReferenceCountUtil.release(msg);
                        }
                    }

                    @Override
                    public void channelReadComplete(ChannelHandlerContext ctx) {
                        pacer.kick();
                        if (!ended[0] && queue.size() < QUEUE_LOW_WATER) {
                            ctx.read();
                        }
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        if (!ended[0]) {
                            ended[0] = true;
                            pacer.fail(new IllegalStateException(source + " closed the metadump connection"));
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close();
                    }
                });
            }
        }).connect(new InetSocketAddress(a.host(), a.port())).addListener(f -> {
            if (!f.isSuccess()) {
                pacer.fail(new IllegalStateException("cannot reach " + source + " for the metadump: "
                        + f.cause().getMessage()));
            }
        });
        return done.whenComplete((v, f) -> {
            if (channel[0] != null) {
                channel[0].close();
            }
        });
    }

    private static final byte[] RESERVED = SuspicionBoard.RESERVED_PREFIX.getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** The proxies' own records (SuspicionBoard): they are about servers, not data, so never copied or compared. */
    static boolean reserved(byte[] key) {
        return key.length >= RESERVED.length
                && java.util.Arrays.equals(key, 0, RESERVED.length, RESERVED, 0, RESERVED.length);
    }
}
