package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * docs/semantics.md, "gets and cas" (issue 12, case 8): in every state of the main (up, syncing, down,
 * hinted for the key, recording writes during a resync by hand, and those together) the server that
 * answered a client's {@code gets} is the one its {@code cas} goes to, so the unique matches and the cas
 * is stored; afterwards every copy has the new value or is hinted for the key.
 */
class GetsCasSelectionTest {
    private static final byte[] K = "k".getBytes(StandardCharsets.US_ASCII);

    @ParameterizedTest(name = "main {0}, gets of {1}: answered by copy {2}")
    @CsvSource(delimiter = '|', value = {
        "up                 | k      | 0",
        "up                 | k other| 0",
        "syncing            | k      | 1",
        "syncing            | k other| 1",
        "down               | k      | 1",
        "down               | k other| 1",
        "hinted             | k      | 1",
        "hinted             | k other| 1",
        "recording          | k      | 0",
        "recording          | k other| 0",
        "recording,hinted   | k      | 1",
        "recording,hinted   | k other| 1"})
    void casGoesWhereGetsWent(String state, String keys, int answering) {
        RouteFixture fx = RouteFixture.pools(1, 1);
        for (int i = 0; i < 50; i++) {
            fx.backup("k").put("pad" + i, "x"); // the backup's uniques differ from the main's
        }
        fx.main("k").put("k", "v");
        fx.backup("k").put("k", "v");
        BackendServer main = fx.server(0, "k");
        for (String s : state.split(",")) {
            switch (s) {
                case "up" -> { }
                case "syncing" -> {
                    main.markDown("test");
                    main.markSyncing();
                }
                case "down" -> main.markDown("test");
                case "hinted" -> main.hints().record(K);
                case "recording" -> main.recordingWrites(true);
                default -> throw new IllegalArgumentException(s);
            }
        }
        String gets = fx.reply("gets " + keys);
        assertEquals(1, getsSent(fx, answering), "answered by copy " + answering);
        assertEquals(0, getsSent(fx, 1 - answering));
        long unique = fx.copy(answering, "k").item("k").cas();
        assertTrue(gets.startsWith("VALUE k 0 1 " + unique + "\r\n"), gets);
        assertEquals("STORED\r\n", fx.reply("cas k 0 0 1 " + unique + "\nw"));
        assertEquals("w", fx.copy(answering, "k").value("k"));
        for (int p = 0; p < 2; p++) {
            assertTrue("w".equals(fx.copy(p, "k").value("k")) || fx.server(p, "k").hints().contains(K),
                    "copy " + p + " has the cas's value or is hinted");
        }
        // and again: the next gets and cas still meet on one server
        int before = getsSent(fx, 0);
        String again = fx.reply("gets k");
        int now = getsSent(fx, 0) > before ? 0 : 1;
        long next = fx.copy(now, "k").item("k").cas();
        assertTrue(again.startsWith("VALUE k 0 1 " + next + "\r\n"), again);
        assertEquals("STORED\r\n", fx.reply("cas k 0 0 1 " + next + "\nx"));
    }

    /** The gets of key k a copy received (a multi-key gets may send its other key elsewhere). */
    private static int getsSent(RouteFixture fx, int copy) {
        return (int) fx.copy(copy, "k").sent().stream().filter(c -> c.startsWith("gets ") && java.util.Arrays.asList(c.split(" ")).contains("k")).count();
    }
}
