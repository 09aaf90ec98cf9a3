package dev.magent.core.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.Transport;
import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.FakeBackend;
import dev.magent.core.route.RouteFixture;
import dev.magent.protocol.MetaReply;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * docs/semantics.md, "Anti-entropy", through fake backends: the main's copy wins, each difference is
 * counted once per copy, and a repair never overwrites a write that reached either copy after the read.
 * The listing (metadumps) needs real memcached: VerifyIT.
 */
class VerifierTest {
    private final DefaultEventLoop loop = new DefaultEventLoop();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    private static byte[] b(String key) {
        return key.getBytes(StandardCharsets.US_ASCII);
    }

    private VerifyProgress verify(RouteFixture fx, BackendServer target, String... keys) throws Exception {
        Verifier v = loop.submit(() -> new Verifier(fx.cluster, fx.router.backends(), loop, Transport.NIO, null,
                fx.config)).get();
        List<byte[]> list = new ArrayList<>();
        for (String k : keys) {
            list.add(b(k));
        }
        v.verifyKeys(target, list).get(10, TimeUnit.SECONDS);
        return target.verifyProgress();
    }

    /** A VA reply as the fake would give for an item (value, flags, no expiry, this cas). */
    private static MetaReply va(String value, int flags, long cas) {
        return new MetaReply("VA", List.of("f" + flags, "t-1", "c" + cas),
                Unpooled.copiedBuffer(value, StandardCharsets.US_ASCII));
    }

    @Test
    void eachKindOfDifferenceIsCountedAndTheMainsCopyWins() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        FakeBackend main = fx.main("same");
        FakeBackend backup = fx.backup("same");
        main.put("same", "v").put("missing", "m", 3, 0).put("value", "new").put("flags", "f", 1, 0)
                .put("both", "new", 1, 0);
        backup.put("same", "v").put("value", "old").put("flags", "f", 2, 0).put("both", "old", 2, 0)
                .put("extra", "x");
        VerifyProgress p = verify(fx, fx.server(0, "same"), "same", "missing", "value", "flags", "both", "extra");

        assertEquals(VerifyProgress.Phase.DONE, p.phase());
        assertEquals(6, p.checked());
        assertEquals(1, p.missing());
        assertEquals(1, p.extra());
        assertEquals(2, p.valueDiffers(), "value, both");
        assertEquals(2, p.flagsDiffer(), "flags, both");
        assertEquals(5, p.repaired());
        assertEquals(0, p.raced());
        assertEquals(0, p.failed());
        assertEquals(0, p.rechecked(), "no authority changed");
        for (String k : List.of("same", "missing", "value", "flags", "both")) {
            assertEquals(main.item(k).value(), backup.value(k), k);
            assertEquals(main.item(k).flags(), backup.item(k).flags(), k);
        }
        assertNull(backup.value("extra"), "the backup's copy of a key the main lacks is deleted");
        assertNull(main.value("extra"), "and not copied to the main");
    }

    @Test
    void verifyingTheBackupComparesItWithTheMain() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "main").put("lost", "l");
        fx.backup("k").put("k", "backup");
        VerifyProgress p = verify(fx, fx.server(1, "k"), "k", "lost");
        assertEquals(1, p.valueDiffers());
        assertEquals(1, p.missing());
        assertEquals("main", fx.backup("k").value("k"));
        assertEquals("l", fx.backup("k").value("lost"));
        assertEquals("main", fx.main("k").value("k"), "the main is never written");
    }

    @Test
    void aClientWriteThatReachedTheCopyAfterTheReadIsNotOverwritten() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "main");
        fx.backup("k").put("k", "client"); // written after verify's read, which saw the older item below
        fx.backup("k").replyNext(va("stale", 0, 1));
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.valueDiffers());
        assertEquals(0, p.repaired());
        assertEquals(1, p.raced());
        assertEquals("client", fx.backup("k").value("k"), "the cas from the read no longer matches: EXISTS");
        assertTrue(fx.backup("k").sent().contains("cas k 0 0 1 main"), fx.backup("k").sent().toString());
    }

    @Test
    void aClientWriteThatReachedTheMainAfterTheReadCancelsTheRepair() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "client"); // the main's item changed after verify's read (another cas)
        fx.main("k").replyNext(va("main", 0, 1));
        fx.backup("k").put("k", "stale");
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.valueDiffers());
        assertEquals(1, p.raced());
        assertEquals(List.of("mg k v f t c"), fx.backup("k").sent(), "no repair is sent");
    }

    @Test
    void aDeleteOfAKeyWrittenAgainSinceTheReadIsNotApplied() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.backup("k").put("k", "client");
        fx.backup("k").replyNext(va("orphan", 0, 1));
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.extra());
        assertEquals(1, p.raced());
        assertEquals("client", fx.backup("k").value("k"));
    }

    @Test
    void aRepairedKeyWhoseMainChangedSinceTheReadIsComparedAgain() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        // the main as verify reads it (cas 1), unchanged at the check before the repair; then a client's
        // write whose backup leg is lost gives it another item, which the recheck finds and copies
        fx.main("k").put("k", "newer");
        fx.main("k").replyNext(va("new", 0, 1)).replyNext(new MetaReply("HD", List.of("c1"), null));
        fx.backup("k").put("k", "old");
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.rechecked());
        assertEquals(2, p.checked());
        assertEquals(2, p.valueDiffers());
        assertEquals(2, p.repaired());
        assertEquals("newer", fx.backup("k").value("k"));
    }

    @Test
    void aMainThatDoesNotAnswerTheCheckBeforeTheRepairIsAFailureNotARace() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "new");
        fx.backup("k").put("k", "old");
        // the first read answers, the cas check before the repair times out
        fx.main("k").replyNext(va("new", 0, fx.main("k").item("k").cas()))
                .replyNext(new dev.magent.protocol.ErrorReply(dev.magent.protocol.ErrorReply.Kind.SERVER_ERROR,
                        "busy"));
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.valueDiffers());
        assertEquals(1, p.failed());
        assertEquals(0, p.raced());
        assertEquals("old", fx.backup("k").value("k"), "nothing written without the check");
    }

    @Test
    void hintedKeysAndCopiesOutOfServiceAreSkipped() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.main("k").put("k", "new");
        fx.backup("k").put("k", "old");
        fx.server(1, "k").hints().record(b("k"));
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.skipped());
        assertEquals(0, p.checked());
        assertEquals("old", fx.backup("k").value("k"), "the hint replay owns it");
    }

    @Test
    void withThreeCopiesTheMainIsComparedWithBoth() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1, 1);
        fx.main("k").put("k", "new");
        fx.copy(1, "k").put("k", "old");
        VerifyProgress p = verify(fx, fx.server(0, "k"), "k");
        assertEquals(1, p.checked());
        assertEquals(1, p.valueDiffers());
        assertEquals(1, p.missing());
        assertEquals(2, p.repaired());
        assertEquals("new", fx.copy(1, "k").value("k"));
        assertEquals("new", fx.copy(2, "k").value("k"));
    }

    @Test
    void aServerThatIsNotUpIsNotVerified() throws Exception {
        RouteFixture fx = RouteFixture.onLoop(loop, 1, 1);
        fx.server(0, "k").markDown("test");
        Verifier v = loop.submit(() -> new Verifier(fx.cluster, fx.router.backends(), loop, Transport.NIO, null,
                fx.config)).get();
        try {
            v.verifyKeys(fx.server(0, "k"), List.of(b("k"))).get(10, TimeUnit.SECONDS);
            throw new AssertionError("verify of a down server started");
        } catch (java.util.concurrent.ExecutionException e) {
            assertTrue(e.getCause().getMessage().contains("not up"), e.getCause().getMessage());
        }
    }
}
