package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendException;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.FakeBackend;
import dev.magent.protocol.ErrorReply;
import org.junit.jupiter.api.Test;

/** docs/semantics.md, "flush_all": every server of every pool. */
class BroadcastRouteTest {

    @Test
    void everyServerIsFlushed() {
        RouteFixture fx = RouteFixture.pools(2, 1, 1);
        for (FakeBackend f : fx.fakes) {
            f.put("x", "1");
        }
        assertEquals("OK\r\n", fx.reply("flush_all"));
        for (FakeBackend f : fx.fakes) {
            assertEquals(java.util.List.of("flush_all"), f.sent());
        }
    }

    @Test
    void aServerThatMissesTheFlushIsOverflowedAndTakenOut() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.fakes[1].failing(BackendException.Reason.TIMEOUT);
        assertEquals("OK\r\n", fx.reply("flush_all"), "OK from the servers that answered");
        assertTrue(fx.cluster.server(1).hints().overflowed());
        assertEquals(BackendServer.State.DOWN, fx.cluster.server(1).state(), "it is flushed and resynced on return");
    }

    @Test
    void aDownServerMissesTheFlushToo() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.cluster.server(0).markDown("test");
        assertEquals("OK\r\n", fx.reply("flush_all noreply"));
        assertTrue(fx.cluster.server(0).hints().overflowed());
    }

    @Test
    void noServerAnsweringIsAnError() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.fakes[0].failing(BackendException.Reason.CONNECTION);
        fx.fakes[1].failing(BackendException.Reason.CONNECTION);
        assertEquals("SERVER_ERROR no server available for flush_all\r\n", fx.reply("flush_all"));
    }

    @Test
    void anErrorReplyIsPassedOn() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        fx.fakes[1].replyNext(ErrorReply.server("flush disabled"));
        assertEquals("SERVER_ERROR flush disabled\r\n", fx.reply("flush_all"));
    }
}
