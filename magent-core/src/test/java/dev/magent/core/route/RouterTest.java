package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.magent.core.backend.FakeBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The operation selector: which verbs are routed, and what is not. */
class RouterTest {

    @Test
    void aVerbWithoutARouteIsMemcachedsError() {
        RouteFixture fx = RouteFixture.pools(1, 1);
        assertEquals("ERROR\r\n", fx.reply("version"));
        for (FakeBackend f : fx.fakes) {
            assertEquals(List.of(), f.sent(), "nothing reaches a server");
        }
    }

    @Test
    void everyRouteAnswersExactlyOnce() {
        RouteFixture fx = RouteFixture.pools(2, 1, 1);
        for (String command : List.of("get a", "get a b c", "gets a", "set a 0 0 1\nv", "cas a 0 0 1 1\nv",
                "incr a 1", "delete a", "touch a 1", "flush_all", "append a 0 0 1\nv")) {
            RouteFixture.Answer answer = fx.call(command);
            assertEquals(1, answer.calls(), command);
        }
    }
}
