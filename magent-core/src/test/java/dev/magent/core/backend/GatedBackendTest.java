package dev.magent.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.Role;
import dev.magent.core.ServerAddress;
import dev.magent.core.route.RouteFixture;
import dev.magent.protocol.Command;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.Reply;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** docs/semantics.md, "Servers: up, down, syncing" and hinted keys: what reaches a server at all. */
class GatedBackendTest {
    private final BackendServer server = new BackendServer(0, 0, Role.MAIN, new ServerAddress("10.0.0.1", 11211), 3, 100);
    private final FakeBackend fake = new FakeBackend(server.address());
    private final GatedBackend gated = new GatedBackend(server, s -> fake);

    private Throwable send(String command) {
        // mg is not a client command of the text decoder: magent only sends it
        return send(command.startsWith("mg ") ? new MetaGetCommand(command.split(" ")[1].getBytes(),
                List.of(command.substring(command.indexOf(' ', 3) + 1).split(" "))) : RouteFixture.parse(command));
    }

    private Throwable send(Command command) {
        Throwable[] failure = {null};
        Reply[] reply = {null};
        gated.send(command, (r, f) -> {
            reply[0] = r;
            failure[0] = f;
        });
        io.netty.util.ReferenceCountUtil.release(reply[0]);
        return failure[0];
    }

    @ParameterizedTest(name = "up: {0} is sent")
    @CsvSource(delimiter = '|', value = {"get k", "set k 0 0 1\\nv", "delete k", "mg k v", "incr k 1"})
    void anUpServerGetsEverything(String command) {
        assertEquals(null, send(command));
        assertEquals(1, fake.sent().size());
    }

    @ParameterizedTest(name = "down: {0} fails at once, unsent")
    @CsvSource(delimiter = '|', value = {"get k", "set k 0 0 1\\nv", "delete k"})
    void aDownServerGetsNothing(String command) {
        server.markDown("test");
        assertSame(server.downException(), send(command));
        assertEquals(List.of(), fake.sent());
    }

    @Test
    void aSyncingServerServesNeitherReadsNorClientWrites() {
        server.markDown("test");
        server.markSyncing();
        assertSame(server.downException(), send("get k"));
        assertSame(server.downException(), send("set k 0 0 1\nv"));
        assertEquals(List.of(), fake.sent());
    }

    @Test
    void aHintedKeyIsStaleForReadsAndWrites() {
        server.hints().record("k".getBytes());
        assertSame(server.staleException(), send("get k"));
        assertSame(server.staleException(), send("mg k v f t"));
        assertSame(server.staleException(), send("set k 0 0 1\nv"));
        assertEquals(null, send("get other"), "other keys are served");
        assertEquals(List.of("get other"), fake.sent());
    }

    @Test
    void writesDuringAResyncAreHinted() {
        server.recordingWrites(true);
        send("set k 0 0 1\nv");
        send("get j");
        assertTrue(server.hints().contains("k".getBytes()), "a write racing the copy is rewritten afterwards");
        assertEquals(1, server.hints().size(), "reads are not recorded");
        assertEquals(2, fake.sent().size(), "both were sent");
    }
}
