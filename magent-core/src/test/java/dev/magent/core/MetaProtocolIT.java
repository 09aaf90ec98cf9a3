package dev.magent.core;

import static dev.magent.core.MemcachedProcess.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The meta protocol through magent (two mains, one backup, real memcached), first compared byte for byte
 * with a lone memcached 1.6.18 answering the same session, then each routing rule: writes on both copies,
 * reads failing over, a miss repaired, base64 keys on the text key's server, quiet pipelines.
 */
class MetaProtocolIT {
    private ProxyFixture cluster;
    private MagentProxy proxy;
    private MemcachedProcess backup;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        backup = cluster.backups.get(0);
        proxy = cluster.proxy(c -> c.requestTimeout(Duration.ofSeconds(5)));
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    /**
     * Every request of the session, each followed by {@code mn} so that its replies (none under q) can be
     * told apart. Per-server numbers (cas, last access, TTL seconds) are masked before comparing.
     */
    private static final List<String> SESSION = List.of(
            // errors, checked in memcached's order
            "mg\r\n", "ms\r\n", "md\r\n", "ma\r\n", "mz k\r\n", "me\r\n", "ms k\r\n",
            "mg k v v\r\n", "mg k x\r\n", "mg k Tz\r\n", "mg k N\r\n", "mg k C-1\r\n", "mg k Mxx\r\n",
            "mg k J-\r\n", "mg k Dq\r\n", "mg k F-1\r\n", "md k x\r\n", "ma k q q\r\n",
            "mg k 1 2 3 4 5 6 7 8 9 a b c d e f g h i j\r\n", "md k 1 2 3 4 5 6 7 8 9 a b c d e f g h i j\r\n",
            "ms k2 2 Fz\r\nhi\r\n", "ms k2 zz\r\nhi\r\n", "ms k2 -1\r\n", "ms k2 2 E5\r\nhi\r\n",
            "ms k2 2 MZ\r\nhi\r\n", "ms k2 2\r\nhiX\r\n", "mg YWJ b\r\n", "me YWJ b\r\n",
            "mg k O123456789012345678901234567890123\r\n", "mg " + "k".repeat(251) + " v\r\n",
            // ms modes, flags, cas
            "ms k 2 T0 F5\r\nhi\r\n", "mg k v f t s k O123 c h l\r\n", "mg k q v\r\n", "mg nokey q v\r\n",
            "mg nokey k O9\r\n", "mg nokey v\r\n", "ms a 1 c\r\nx\r\n", "ms a 1 C1\r\ny\r\n", "mg a c v\r\n",
            "ms a 1 MA\r\nz\r\n", "ms a 1 MP\r\nw\r\n", "mg a v\r\n", "ms a 1 ME q\r\nq\r\n", "ms a 1 ME\r\nq\r\n",
            "ms newa 1 MR\r\nq\r\n", "ms newa 1 MA\r\nq\r\n", "ms newa 1 MP k O5\r\nq\r\n", "ms newa 1 MS q\r\nq\r\n",
            "mg newa v\r\n", "ms t 2 T100 F7 k O1 b\r\nhi\r\n",
            // invalidation, stale and win flags
            "md a I T30\r\n", "mg a v c t\r\n", "mg a v c t\r\n", "ms a 1 C999 I\r\nn\r\n", "mg a v c\r\n",
            "mg viv N30 v t\r\n", "mg viv N30 v t\r\n", "mg viv v\r\n", "ms r 1 T100\r\nr\r\n",
            "mg r R200 v\r\n", "mg r R200 v\r\n", "mg r R30 v\r\n", "mg r T500 v t\r\n", "mg r v t\r\n",
            // base64 keys
            "mg YWJj b k v\r\n", "ms YWJj 1 b k\r\nz\r\n", "mg YWJj b k v\r\n", "mg abc k v\r\n", "me YWJj b\r\n",
            "md YWJj b k q\r\n", "mg abc v\r\n",
            // arithmetic
            "ma c N0 J13 v\r\n", "ma c v q\r\n", "ma c q\r\n", "ma x q\r\n", "ma x\r\n", "ma c MD D5 v\r\n",
            "ma c M- D100 v\r\n", "ma c MI t v\r\n", "ma c C1 v\r\n", "ma a v\r\n", "ma c MX\r\n", "ma c Dx\r\n",
            "ma c O7 k\r\n", "ma c D18446744073709551615 v\r\n", "ma n2 N0 J5 T100 v t k\r\n",
            // delete
            "md nokey q\r\n", "md k q\r\n", "md k q k O1\r\n", "md a C5\r\n", "md n2 C1 O2\r\n", "md t\r\n",
            // debug and no-op
            "me c\r\n", "me nokey\r\n", "me c b\r\n", "mn a b\r\n", "mn\r\n");

    @Test
    void aSessionGetsMemcachedsRepliesByteForByte() throws Exception {
        List<String> expected;
        try (MemcachedProcess lone = MemcachedProcess.start(); MetaClient direct = new MetaClient(lone.port())) {
            expected = run(direct);
        }
        List<String> actual;
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            actual = run(c);
        }
        for (int i = 0; i < SESSION.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), "reply to " + SESSION.get(i).replace("\r\n", "\\r\\n"));
        }
    }

    @Test
    void aSessionWithAMainKilledHalfwayGetsMemcachedsReplies() throws Exception {
        // first half: items on both mains (and so on the backup); second half, after one main is killed:
        // reads, writes, arithmetic, deletes and quiet pipelines on the same keys, now served by the backup
        // for that main's keys. No h, l or win flags: those are per-server state the backup cannot share.
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String key = "half" + i;
            first.add("ms " + key + " 2 F" + i + " T0 k O" + i + "\r\nv" + (i % 10) + "\r\n");
            second.add("mg " + key + " v f t k s O" + i + "\r\n");
            second.add("ms " + key + " 1 MA q\r\nx\r\n");
            second.add("mg " + key + " v q\r\n");
            second.add("ma n" + key + " N0 J" + i + " v t\r\n");
            second.add("ma n" + key + " MD D2 q\r\n");
            second.add("mg n" + key + " v\r\n");
            second.add("md " + key + " q k\r\n");
            second.add("mg " + key + " v q k\r\nmg " + key + " v k O9\r\n");
            second.add("me miss" + i + "\r\n");
        }
        List<String> expected = new ArrayList<>();
        try (MemcachedProcess lone = MemcachedProcess.start(); MetaClient direct = new MetaClient(lone.port())) {
            for (String r : first) {
                expected.add(mask(direct.exchange(r)));
            }
            for (String r : second) {
                expected.add(mask(direct.exchange(r)));
            }
        }
        List<String> actual = new ArrayList<>();
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy)); MetaClient onBackup = new MetaClient(backup.port())) {
            for (String r : first) {
                actual.add(mask(c.exchange(r)));
            }
            for (int i = 0; i < 12; i++) {
                awaitCall(onBackup, "mg half" + i + " v\r\n", "VA 2\r\nv" + (i % 10) + "\r\n");
            }
            cluster.mains.get(0).kill();
            for (String r : second) {
                actual.add(mask(c.exchange(r)));
            }
        }
        assertEquals(expected, actual);
    }

    private static List<String> run(MetaClient c) throws IOException {
        List<String> out = new ArrayList<>();
        for (String request : SESSION) {
            out.add(mask(c.exchange(request)));
        }
        return out;
    }

    /** Masks what differs per server and per second: cas values, last access, remaining TTL, expiry. */
    static String mask(String reply) {
        return reply.replaceAll(" c[0-9]+", " c#").replaceAll(" l[0-9]+", " l#").replaceAll(" t[0-9]+", " t#")
                .replaceAll("cas=[0-9]+", "cas=#").replaceAll("la=[0-9]+", "la=#").replaceAll("exp=[0-9]+", "exp=#");
    }

    @Test
    void writesReachMainAndBackup() throws Exception {
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            assertEquals("HD\r\n", c.call("ms wkey 3 F9 T0\r\nabc\r\n"));
            assertEquals("VA 3 f9\r\nabc\r\n", c.call("mg wkey v f\r\n"));
            MetaClient main = new MetaClient(mainOf("wkey").port());
            MetaClient onBackup = new MetaClient(backup.port());
            try (main; onBackup) {
                assertEquals("VA 3 f9\r\nabc\r\n", main.call("mg wkey v f\r\n"));
                awaitCall(onBackup, "mg wkey v f\r\n", "VA 3 f9\r\nabc\r\n");
                assertEquals("HD\r\n", c.call("ms wkey 1 MA\r\nd\r\n"));
                awaitCall(onBackup, "mg wkey v\r\n", "VA 4\r\nabcd\r\n");
                // invalidation marks both copies stale
                assertEquals("HD\r\n", c.call("md wkey I\r\n"));
                awaitCall(onBackup, "mg wkey v\r\n", "VA 4 X W\r\nabcd\r\n");
                assertEquals("HD\r\n", c.call("md wkey\r\n"));
                awaitCall(onBackup, "mg wkey v\r\n", "EN\r\n");
                assertEquals("EN\r\n", main.call("mg wkey v\r\n"));
            }
        }
    }

    @Test
    void aCasWriteIsCopiedToTheBackupWithoutItsCas() throws Exception {
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy)); MetaClient onBackup = new MetaClient(backup.port())) {
            assertEquals("HD\r\n", c.call("ms ckey 3\r\none\r\n"));
            String hd = c.call("mg ckey c\r\n");
            String cas = hd.trim().split(" ")[1].substring(1);
            assertEquals("HD\r\n", c.call("ms ckey 3 C" + cas + "\r\ntwo\r\n"));
            assertEquals("EX\r\n", c.call("ms ckey 5 C" + cas + "\r\nthree\r\n"));
            assertEquals("NF\r\n", c.call("ms nockey 1 C1\r\nx\r\n"));
            awaitCall(onBackup, "mg ckey v\r\n", "VA 3\r\ntwo\r\n");
            hd = c.call("mg ckey c\r\n");
            cas = hd.trim().split(" ")[1].substring(1);
            assertEquals("HD\r\n", c.call("md ckey C" + cas + "\r\n"));
            awaitCall(onBackup, "mg ckey v\r\n", "EN\r\n");
        }
    }

    @Test
    void arithmeticLeavesTheSameValueOnTheBackup() throws Exception {
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy)); MetaClient onBackup = new MetaClient(backup.port())) {
            assertEquals("HD\r\n", c.call("ma counter N0 J10\r\n"));
            assertEquals("VA 2\r\n15\r\n", c.call("ma counter D5 v\r\n"));
            awaitCall(onBackup, "mg counter v\r\n", "VA 2\r\n15\r\n");
            // the backup drifted (written directly): the next ma puts it back in step
            assertEquals("HD\r\n", onBackup.call("ms counter 3\r\n100\r\n"));
            assertEquals("HD k" + "counter\r\n", c.call("ma counter k\r\n"));
            awaitCall(onBackup, "mg counter v\r\n", "VA 2\r\n16\r\n");
            // a cas'd ma reaches the backup after the main, without the cas
            String cas = c.call("mg counter c\r\n").trim().split(" ")[1].substring(1);
            assertEquals("VA 2\r\n14\r\n", c.call("ma counter MD D2 v C" + cas + "\r\n"));
            awaitCall(onBackup, "mg counter v\r\n", "VA 2\r\n14\r\n");
        }
    }

    @Test
    void quietPipelineEndedByMn() throws Exception {
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            // ten keys over both mains, written and read back quietly in one pipeline
            StringBuilder writes = new StringBuilder();
            StringBuilder reads = new StringBuilder();
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                writes.append("ms q").append(i).append(" 2 q O").append(i).append("\r\nv").append(i).append("\r\n");
                reads.append("mg q").append(i).append(" v q k O").append(i).append("\r\n");
                reads.append("mg miss").append(i).append(" v q k\r\n");
                expected.append("VA 2 kq").append(i).append(" O").append(i).append("\r\nv").append(i).append("\r\n");
            }
            // md's q hides HD only: a miss is still answered
            assertEquals("NF\r\nMN\r\n", c.exchange(writes + "md miss0 q\r\n"));
            assertEquals(expected + "MN\r\n", c.exchange(reads.toString()));
            // a quiet write that fails is still answered, in order
            assertEquals("NS O1\r\nMN\r\n", c.exchange("ms q1 1 ME q O1\r\nx\r\nms q2 1 q\r\ny\r\n"));
        }
    }

    @Test
    void readsFailOverToTheBackupWhileTheMainIsDown() throws Exception {
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            assertEquals("HD\r\n", c.call("ms fkey 4 F3\r\nkept\r\n"));
            MemcachedProcess main = mainOf("fkey");
            try (MetaClient onBackup = new MetaClient(backup.port())) {
                awaitCall(onBackup, "mg fkey v\r\n", "VA 4\r\nkept\r\n");
            }
            main.kill();
            assertEquals("VA 4 f3 kfkey O1\r\nkept\r\n", c.call("mg fkey v f k O1\r\n"));
            assertEquals("ME fkey", c.call("me fkey\r\n").substring(0, 7));
            // writes go on to the backup and are hinted for the main
            assertEquals("HD\r\n", c.call("ms fkey 5\r\nlater\r\n"));
            assertEquals("VA 5\r\nlater\r\n", c.call("mg fkey v\r\n"));
            assertEquals("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", c.call("ma fkey\r\n"));
            main.restart();
            BackendServer state = ProxyFixture.server(proxy, main);
            await("the main back with its missed writes", Duration.ofSeconds(10),
                    () -> state.state() == BackendServer.State.UP && state.hints().isEmpty());
            try (MetaClient onMain = new MetaClient(main.port())) {
                assertEquals("VA 5\r\nlater\r\n", onMain.call("mg fkey v\r\n"));
            }
        }
    }

    @Test
    void writesAStalledMainMissedAreHintedAndHandedOffWhenItReturns() throws Exception {
        MemcachedProcess main = mainOf("hkey");
        String b64 = Base64.getEncoder().encodeToString("hkey2".getBytes(StandardCharsets.US_ASCII));
        MemcachedProcess main2 = mainOf("hkey2");
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            assertEquals("HD\r\n", c.call("ms hkey 3\r\nold\r\n"));
            assertEquals("HD\r\n", c.call("ms " + b64 + " 3 b\r\nold\r\n"));
            main.pause();
            if (main2 != main) {
                main2.pause();
            }
            BackendServer state = ProxyFixture.server(proxy, main);
            // the first write times out on the main and is answered by the backup; the main is then down
            assertEquals("HD\r\n", c.call("ms hkey 3 T0\r\nnew\r\n"));
            assertEquals("HD\r\n", c.call("ms " + b64 + " 3 b\r\nnew\r\n"));
            assertEquals("VA 3\r\nnew\r\n", c.call("mg hkey v\r\n"));
            assertEquals("VA 3\r\nnew\r\n", c.call("mg " + b64 + " b v\r\n"));
            assertTrue(state.hints().contains("hkey".getBytes(StandardCharsets.US_ASCII)));
            main.resume();
            if (main2 != main) {
                main2.resume();
            }
            BackendServer state2 = ProxyFixture.server(proxy, main2);
            await("the mains back, their missed writes rewritten", Duration.ofSeconds(15),
                    () -> state.state() == BackendServer.State.UP && state.hints().isEmpty()
                            && state2.state() == BackendServer.State.UP && state2.hints().isEmpty());
            try (MetaClient onMain = new MetaClient(main.port()); MetaClient onMain2 = new MetaClient(main2.port())) {
                assertEquals("VA 3\r\nnew\r\n", onMain.call("mg hkey v\r\n"));
                assertEquals("VA 3\r\nnew\r\n", onMain2.call("mg hkey2 v\r\n"));
            }
        }
    }

    @Test
    void aBinaryKeyTextCannotCarryIsHandedOffAndResyncedToo() throws Exception {
        // " AB\n" cannot be written in a text command: the catch-up reads, deletes and copies it with meta
        // commands and its key in base64
        String b64 = Base64.getEncoder().encodeToString(" AB\n".getBytes(StandardCharsets.US_ASCII));
        MemcachedProcess main = mainOf(" AB\n");
        BackendServer state = ProxyFixture.server(proxy, main);
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            assertEquals("HD\r\n", c.call("ms " + b64 + " 3 b T0\r\nold\r\n"));
            main.pause();
            assertEquals("HD\r\n", c.call("ms " + b64 + " 3 b\r\nnew\r\n"));
            assertEquals("VA 3\r\nnew\r\n", c.call("mg " + b64 + " b v\r\n"));
            main.resume();
            await("the main back, the binary key rewritten", Duration.ofSeconds(15),
                    () -> state.state() == BackendServer.State.UP && state.hints().isEmpty());
            try (MetaClient onMain = new MetaClient(main.port())) {
                assertEquals("VA 3\r\nnew\r\n", onMain.call("mg " + b64 + " b v\r\n"));
            }
            // restarted empty: the resync lists the key (percent-encoded) on the backup and copies it back
            main.kill();
            main.restart();
            String poke = pokeKeyOn(main);
            await("the main resynced", Duration.ofSeconds(15), () -> {
                try {
                    c.call("mg " + poke + " v\r\n"); // traffic, so that the proxy sees the restart
                } catch (IOException e) {
                    return false;
                }
                if (state.state() != BackendServer.State.UP) {
                    return false;
                }
                try (MetaClient onMain = new MetaClient(main.port())) {
                    return onMain.call("mg " + b64 + " b v\r\n").equals("VA 3\r\nnew\r\n");
                } catch (IOException e) {
                    return false;
                }
            });
            assertEquals(BackendServer.State.UP, ProxyFixture.server(proxy, backup).state(),
                    "the backup, the resync's source, stayed up");
        }
    }

    @Test
    void aMissOnTheMainIsReadFromTheBackupAndRepaired() throws Exception {
        MemcachedProcess main = mainOf("rkey");
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy)); MetaClient onBackup = new MetaClient(backup.port());
             MetaClient onMain = new MetaClient(main.port())) {
            assertEquals("HD\r\n", onBackup.call("ms rkey 6 F4 T1000\r\nbackup\r\n"));
            assertEquals("VA 6 f4 O3\r\nbackup\r\n", c.call("mg rkey v f O3\r\n"));
            awaitCall(onMain, "mg rkey v f\r\n", "VA 6 f4\r\nbackup\r\n");
            String ttl = onMain.call("mg rkey t\r\n");
            assertTrue(ttl.matches("HD t(99[0-9]|1000)\r\n"), ttl);
        }
    }

    @Test
    void aBase64KeyIsTheTextKeysItem() throws Exception {
        String raw = "b64key";
        String b64 = Base64.getEncoder().encodeToString(raw.getBytes(StandardCharsets.US_ASCII));
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy))) {
            for (int i = 0; i < 8; i++) {
                String key = raw + i;
                String enc = Base64.getEncoder().encodeToString(key.getBytes(StandardCharsets.US_ASCII));
                assertEquals("HD k" + enc + " b\r\n", c.call("ms " + enc + " 2 b k\r\nv" + i + "\r\n"));
                assertEquals("VALUE " + key + " 0 2\r\nv" + i + "\r\nEND\r\nMN\r\n",
                        c.exchange("get " + key + "\r\n"));
                try (MetaClient onMain = new MetaClient(mainOf(key).port())) {
                    assertEquals("VA 2\r\nv" + i + "\r\n", onMain.call("mg " + key + " v\r\n"));
                }
            }
            assertEquals("STORED\r\n", c.call("set " + raw + " 0 0 1\r\nt\r\n"));
            // as memcached: an item stored by a text command gives its key back as it is, not in base64
            assertEquals("VA 1 k" + raw + "\r\nt\r\n", c.call("mg " + b64 + " b k v\r\n"));
        }
    }

    @Test
    void aPipelineMixingTextAndMetaOnTheSameKeysKeepsItsOrder() throws Exception {
        // one write holding 400 requests on three keys, text and meta, raw and base64 (YWJj is "abc"): any
        // reordering between the two protocols' requests for a key would change some reply
        java.util.Random random = new java.util.Random(42);
        String[] forms = {"abc", "YWJj b", "def", "ZGVm b", "ghi"};
        StringBuilder pipeline = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            String form = forms[random.nextInt(forms.length)];
            String raw = form.startsWith("YWJj") ? "abc" : form.startsWith("ZGVm") ? "def" : form;
            String meta = form.split(" ")[0] + (form.endsWith(" b") ? " b" : "");
            String v = Integer.toString(i);
            pipeline.append(switch (random.nextInt(10)) {
                case 0 -> "set " + raw + " 0 0 " + v.length() + "\r\n" + v + "\r\n";
                case 1 -> "ms " + meta + " " + v.length() + " T0\r\n" + v + "\r\n";
                case 2 -> "ms " + meta + " 1 MA q\r\n" + (i % 10) + "\r\n";
                case 3 -> "get " + raw + "\r\n";
                case 4 -> "mg " + meta + " v q k\r\n";
                case 5 -> "md " + meta + " q\r\n";
                case 6 -> "delete " + raw + "\r\n";
                case 7 -> "ma " + meta + " N0 J1 v\r\n";
                case 8 -> "incr " + raw + " 3\r\n";
                default -> "append " + raw + " 0 0 1\r\nx\r\n";
            });
        }
        String expected;
        try (MemcachedProcess lone = MemcachedProcess.start(); MetaClient direct = new MetaClient(lone.port())) {
            expected = direct.exchange(pipeline.toString());
        }
        // without read-repair: a miss repaired from the backup can see a write the same pipeline sent later
        // (the backup is read after it), for get as for mg; ordering is what this test is about
        MagentProxy noRepair = cluster.proxy(b -> b.readRepair(false).requestTimeout(Duration.ofSeconds(5)));
        try (MetaClient c = new MetaClient(ProxyFixture.port(noRepair))) {
            assertEquals(expected, c.exchange(pipeline.toString()));
        }
    }

    @Test
    void touchingMgUpdatesTheBackupsTtl() throws Exception {
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy)); MetaClient onBackup = new MetaClient(backup.port())) {
            assertEquals("HD\r\n", c.call("ms tkey 1 T100\r\nx\r\n"));
            assertEquals("VA 1 t5000\r\nx\r\n", c.call("mg tkey v T5000 t\r\n").replaceAll("t4999", "t5000"));
            await("the backup's TTL touched", Duration.ofSeconds(5), () -> {
                try {
                    return onBackup.call("mg tkey t\r\n").matches("HD t(4999|5000)\r\n");
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    @Test
    void aCounterTheMainLostIsAnsweredByTheBackupAndRefilled() throws Exception {
        MemcachedProcess main = mainOf("lost");
        try (MetaClient c = new MetaClient(ProxyFixture.port(proxy)); MetaClient onBackup = new MetaClient(backup.port());
             MetaClient onMain = new MetaClient(main.port())) {
            assertEquals("HD\r\n", onBackup.call("ms lost 2 T0\r\n41\r\n"));
            assertEquals("VA 2 O1\r\n42\r\n", c.call("ma lost v O1\r\n"));
            awaitCall(onMain, "mg lost v\r\n", "VA 2\r\n42\r\n");
            assertEquals("VA 2\r\n42\r\n", onBackup.call("mg lost v\r\n"));
            assertEquals("HD\r\n", c.call("ma lost\r\n"));
            assertEquals("VA 2\r\n43\r\n", onMain.call("mg lost v\r\n"));
        }
    }

    /** A key (on no server) whose main is {@code main}: reading it makes the proxy talk to that main. */
    private String pokeKeyOn(MemcachedProcess main) {
        for (int i = 0; ; i++) {
            if (mainOf("poke" + i) == main) {
                return "poke" + i;
            }
        }
    }

    private MemcachedProcess mainOf(String key) {
        return cluster.mains.get(ClusterObserver.mainIndex(cluster.mains, key));
    }

    private static void awaitCall(MetaClient c, String request, String expected) throws InterruptedException {
        await("'" + expected.trim() + "' for " + request.trim(), Duration.ofSeconds(5), () -> {
            try {
                return expected.equals(c.call(request));
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** A blocking meta-protocol client: reads VA data blocks, and whole pipelines up to their mn. */
    /** Meta replies over a {@link RawClient}: one line, and for VA its data block. */
    static final class MetaClient implements AutoCloseable {
        private final RawClient raw;

        MetaClient(int port) throws IOException {
            raw = new RawClient(port);
        }

        /** Sends one request that is answered by exactly one reply, and reads it. */
        String call(String request) throws IOException {
            send(request);
            return reply();
        }

        /**
         * Sends requests followed by {@code mn} and reads everything up to the MN that answers it (the
         * requests' own mn, if any, are counted). Data blocks must not hold "MN\r\n".
         */
        String exchange(String requests) throws IOException {
            int noops = 1;
            for (String line : requests.split("\r\n", -1)) {
                if (line.equals("mn") || line.startsWith("mn ")) {
                    noops++;
                }
            }
            send(requests + "mn\r\n");
            StringBuilder sb = new StringBuilder();
            while (noops > 0) {
                String r = reply();
                sb.append(r);
                if (r.equals("MN\r\n")) {
                    noops--;
                }
            }
            return sb.toString();
        }

        void send(String raw) throws IOException {
            this.raw.send(raw);
        }

        String reply() throws IOException {
            String line = raw.readLine();
            if (line.startsWith("VA ")) {
                int size = Integer.parseInt(line.trim().split(" ")[1]);
                return line + raw.read(size + 2);
            }
            return line;
        }

        @Override
        public void close() throws IOException {
            raw.close();
        }
    }
}
