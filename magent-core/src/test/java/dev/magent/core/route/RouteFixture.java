package dev.magent.core.route;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ProxyStats;
import dev.magent.core.ServerAddress;
import dev.magent.core.backend.BackendPool;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.core.backend.FakeBackend;
import dev.magent.core.backend.LoopContext;
import dev.magent.protocol.Command;
import dev.magent.protocol.CommandDecoder;
import dev.magent.protocol.Reply;
import dev.magent.protocol.ReplyEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A router over fake backends, for route unit tests: pools of the given sizes (the mains first), one
 * {@link FakeBackend} per server, commands given as protocol text and replies read back as the text a
 * client would get. Everything runs on the test's thread, in milliseconds.
 */
public final class RouteFixture {
    public final ProxyStats stats = new ProxyStats();
    public final Cluster cluster;
    public final FakeBackend[] fakes;
    public final Router router;

    /** Read-repair on, as by default. */
    public static RouteFixture pools(int... sizes) {
        return new RouteFixture(true, sizes);
    }

    public static RouteFixture withoutRepair(int... sizes) {
        return new RouteFixture(false, null, sizes);
    }

    /** Servers whose hint logs hold {@code capacity} keys. */
    public static RouteFixture withHintCapacity(int capacity, int... sizes) {
        return new RouteFixture(true, null, capacity, sizes);
    }

    /** A router whose loop is {@code loop}: for recovery code, which runs on the router's loop. */
    public static RouteFixture onLoop(io.netty.channel.EventLoop loop, int... sizes) {
        return new RouteFixture(true, loop, sizes);
    }

    public final ProxyConfig config;

    private RouteFixture(boolean readRepair, int... sizes) {
        this(readRepair, null, sizes);
    }

    private RouteFixture(boolean readRepair, io.netty.channel.EventLoop loop, int... sizes) {
        this(readRepair, loop, 100_000, sizes);
    }

    private RouteFixture(boolean readRepair, io.netty.channel.EventLoop loop, int hintCapacity, int... sizes) {
        List<List<ServerAddress>> pools = new ArrayList<>();
        for (int p = 0; p < sizes.length; p++) {
            List<ServerAddress> pool = new ArrayList<>();
            for (int i = 0; i < sizes[p]; i++) {
                pool.add(new ServerAddress("10.0." + p + "." + (i + 1), 11211));
            }
            pools.add(pool);
        }
        config = ProxyConfig.builder().mains(pools.get(0))
                .backupPools(pools.subList(1, pools.size())).readRepair(readRepair).hintCapacity(hintCapacity).build();
        cluster = new Cluster(config);
        fakes = new FakeBackend[cluster.size()];
        for (int i = 0; i < fakes.length; i++) {
            fakes[i] = new FakeBackend(cluster.server(i).address());
        }
        router = new Router(cluster, loop == null ? null : new LoopContext(loop, new BackendPool[0]),
                server -> fakes[server.id()], stats, readRepair);
    }

    /** The server holding the key's copy in a pool (0: its main). */
    public BackendServer server(int pool, String key) {
        return cluster.copy(pool, key.getBytes(StandardCharsets.US_ASCII));
    }

    /** The fake behind the key's copy in a pool. */
    public FakeBackend copy(int pool, String key) {
        return fakes[server(pool, key).id()];
    }

    public FakeBackend main(String key) {
        return copy(0, key);
    }

    public FakeBackend backup(String key) {
        return copy(1, key);
    }

    /** Routes one command given as protocol text (CRLFs added to lines that lack them). */
    public Answer call(String text) {
        Answer a = new Answer();
        router.route(parse(text), a);
        return a;
    }

    /** Routes a command and returns the client's reply text; fails if the reply is still pending. */
    public String reply(String text) {
        Answer a = call(text);
        if (!a.answered()) {
            throw new AssertionError("no reply yet to " + text);
        }
        return a.text();
    }

    public static Command parse(String text) {
        // "\\n" (a backslash and n, as table rows write it) is a line break too
        String t = text.replace("\\n", "\n");
        String wire = t.endsWith("\r\n") ? t : t.replace("\n", "\r\n") + "\r\n";
        EmbeddedChannel ch = new EmbeddedChannel(new CommandDecoder());
        ch.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(wire, StandardCharsets.US_ASCII));
        Object o = ch.readInbound();
        ch.finishAndReleaseAll();
        if (!(o instanceof Command c)) {
            ReferenceCountUtil.release(o);
            throw new IllegalArgumentException("not a command: " + text + " -> " + o);
        }
        return c;
    }

    /** A reply as the bytes a client reads, CRLFs included. */
    static String text(Reply reply) {
        EmbeddedChannel ch = new EmbeddedChannel(new ReplyEncoder());
        ch.writeOutbound(reply);
        StringBuilder sb = new StringBuilder();
        for (Object o = ch.readOutbound(); o != null; o = ch.readOutbound()) {
            sb.append(((ByteBuf) o).toString(StandardCharsets.US_ASCII));
            ReferenceCountUtil.release(o);
        }
        ch.finishAndReleaseAll();
        return sb.toString();
    }

    /** The client's side of one request: the reply once it came. */
    public static final class Answer implements Completion {
        private Reply reply;
        private Throwable failure;
        private int calls;
        private String text;

        @Override
        public void accept(Reply r, Throwable f) {
            calls++;
            reply = r;
            failure = f;
            text = r == null ? null : RouteFixture.text(r);
        }

        public boolean answered() {
            return calls > 0;
        }

        /** How many times the route answered: exactly once is the contract. */
        public int calls() {
            return calls;
        }

        public String text() {
            if (failure != null) {
                throw new AssertionError("a route answered with an exception", failure);
            }
            return text;
        }
    }
}
