package dev.magent.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ServerAddress;
import dev.magent.protocol.DeleteCommand;
import io.netty.channel.DefaultEventLoop;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoopContextTest {
    private final DefaultEventLoop loop = new DefaultEventLoop();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    private static BackendPool[] pools(Cluster cluster) {
        BackendPool[] pools = new BackendPool[cluster.size()];
        for (int i = 0; i < pools.length; i++) {
            pools[i] = new BackendPool(cluster.server(i), null, null, 1, TimeUnit.SECONDS.toNanos(1));
        }
        return pools;
    }

    /**
     * A request still on its way when a reload swapped the pools (a backup's write leg, a fail-over, a
     * repair's add) must not reach the server that took the removed server's id.
     */
    @Test
    void aServerRemovedByAReloadIsNeverConfusedWithTheOneThatTookItsId() {
        ServerAddress a = new ServerAddress("10.0.0.1", 11211);
        ServerAddress removed = new ServerAddress("10.0.0.2", 11211);
        ServerAddress added = new ServerAddress("10.0.0.3", 11211);
        Cluster before = new Cluster(ProxyConfig.builder().mains(List.of(a, removed)).build());
        Cluster after = new Cluster(ProxyConfig.builder().mains(List.of(a, added)).build(), before);
        BackendServer gone = before.server(1);
        assertEquals(gone.id(), after.server(1).id(), "the new server takes the removed one's id");

        LoopContext ctx = new LoopContext(loop, pools(before));
        BackendPool[] next = pools(after);
        ctx.replacePools(next);

        assertSame(next[0], ctx.backend(after.server(0)), "a server that stays is reached through its new pool");
        assertSame(next[1], ctx.backend(after.server(1)));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        DeleteCommand delete = new DeleteCommand("k".getBytes(StandardCharsets.US_ASCII), false);
        ctx.backend(gone).send(delete, (reply, f) -> {
            assertNull(reply);
            failure.set(f);
        });
        BackendException e = (BackendException) failure.get();
        assertEquals(BackendException.Reason.REMOVED, e.reason());
        assertEquals(removed, e.server());
    }
}
