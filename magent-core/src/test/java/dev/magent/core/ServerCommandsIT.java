package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.backend.BackendServer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * stats sub-commands and memcached's admin commands through magent over two mains and a backup, checked
 * against real memcached 1.6.18: the same answers as one memcached gives, sums of the mains' counters,
 * settings that reach every server.
 */
class ServerCommandsIT {
    private ProxyFixture cluster;
    private MemcachedProcess reference;
    private MagentProxy proxy;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        proxy = cluster.proxy();
    }

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private List<MemcachedProcess> everyServer() {
        List<MemcachedProcess> all = new ArrayList<>(cluster.mains);
        all.addAll(cluster.backups);
        return all;
    }

    private static Map<String, String> stats(String reply) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : reply.split("\r\n")) {
            if (line.startsWith("STAT ")) {
                String[] w = line.split(" ", 3);
                m.put(w[1], w.length > 2 ? w[2] : "");
            }
        }
        return m;
    }

    private static String call(int port, String request) throws Exception {
        try (RawClient c = new RawClient(port)) {
            return c.call(request);
        }
    }

    private static long number(Map<String, String> stats, String name) {
        String v = stats.get(name);
        return v == null ? 0 : Long.parseLong(v);
    }

    @Test
    void adminCommandsAnswerAsMemcachedAndReachEveryServer() throws Exception {
        reference = cluster.reference();
        int port = ProxyFixture.port(proxy);
        // each answered as one memcached 1.6.18 answers it (the servers are fresh, as the reference is)
        List<String> requests = List.of("verbosity\r\n", "verbosity x\r\n", "verbosity 1 2 3\r\n",
                "slabs\r\n", "slabs automove\r\n", "slabs automove 3\r\n", "slabs automove x\r\n",
                "slabs automove ratio\r\n", "slabs automove ratio 0.5\r\n", "slabs reassign 1 1\r\n",
                "slabs reassign x 2\r\n", "slabs reassign 1 2\r\n", "slabs reassign 1 noreply\r\n", "slabs foo bar\r\n",
                "cache_memlimit\r\n", "cache_memlimit 4\r\n", "cache_memlimit x\r\n", "cache_memlimit 2000000000\r\n",
                "cache_memlimit 1 2 3\r\n", "lru_crawler\r\n", "lru_crawler crawl 1\r\n", "lru_crawler sleep 2000000\r\n",
                "lru_crawler sleep x\r\n", "lru_crawler tocrawl x\r\n", "lru_crawler enable\r\n", "lru_crawler foo\r\n",
                "lru_crawler crawl 1 noreply\r\n", "lru tune 50 40 0.2 2\r\n", "lru tune 20 40 0 2\r\n",
                "lru tune x 40 0.2 2\r\n", "lru mode x\r\n", "lru temp_ttl x\r\n", "lru x\r\n", "lru\r\n",
                "extstore x\r\n", "extstore\r\n", "extstore item_size x\r\n", "shutdown\r\n", "shutdown graceful\r\n",
                "shutdown x y\r\n", "refresh_certs\r\n", "misbehave\r\n", "debugtime 1\r\n",
                "stats foo\r\n", "stats detail\r\n", "stats detail foo\r\n", "stats detail on\r\n",
                "stats detail off\r\n", "stats reset\r\n", "stats sizes\r\n");
        for (String r : requests) {
            assertEquals(call(reference.port(), r), call(port, r), r.trim());
        }
        // noreply where memcached looks for it: nothing at all, then the next answer
        try (RawClient c = new RawClient(port); RawClient d = new RawClient(reference.port())) {
            String quiet = "verbosity 0 noreply\r\ncache_memlimit 64 noreply\r\nslabs automove 1 noreply\r\n"
                    + "lru mode segmented noreply\r\nextstore item_size 512 noreply\r\ncache_memlimit x noreply\r\n"
                    + "verbosity 0\r\n";
            assertEquals("OK\r\n", d.call(quiet));
            assertEquals("OK\r\n", c.call(quiet));
            assertTrue(c.quietFor(200));
            // refresh_certs answers a server without TLS whatever noreply says
            assertEquals(d.call("refresh_certs noreply\r\n"), c.call("refresh_certs noreply\r\n"));
        }
        // the refusals are what memcached answers when dumps and watch are disabled (-X -W)
        try (MemcachedProcess locked = MemcachedProcess.start("-X", "-W")) {
            for (String r : List.of("watch\r\n", "watch fetchers\r\n", "lru_crawler metadump all\r\n",
                    "stats cachedump 1 1\r\n")) {
                assertEquals(call(locked.port(), r), call(port, r), r.trim());
            }
        }

        // settings that an operator means for every server reach every server, mains and backup
        for (String r : List.of("verbosity 1\r\n", "slabs automove 2\r\n", "cache_memlimit 100\r\n",
                "lru tune 10 30 0.1 1.5\r\n", "lru_crawler sleep 200\r\n", "lru_crawler tocrawl 7\r\n",
                "stats detail on\r\n")) {
            assertEquals("OK\r\n", call(port, r), r.trim());
        }
        for (MemcachedProcess m : everyServer()) {
            Map<String, String> settings = stats(call(m.port(), "stats settings\r\n"));
            assertEquals("1", settings.get("verbosity"), m.address().toString());
            assertEquals("2", settings.get("slab_automove"));
            assertEquals(Long.toString(100L << 20), settings.get("maxbytes"));
            assertEquals("10", settings.get("hot_lru_pct"));
            assertEquals("30", settings.get("warm_lru_pct"));
            assertEquals("200", settings.get("lru_crawler_sleep"));
            assertEquals("7", settings.get("lru_crawler_tocrawl"));
            assertEquals("yes", settings.get("detail_enabled"));
        }
        // a server that is not in service misses the setting; the others still answer for it
        cluster.mains.get(1).kill();
        MemcachedProcess.await("the stopped main is out of service", java.time.Duration.ofSeconds(10),
                () -> ProxyFixture.server(proxy, cluster.mains.get(1)).state() != BackendServer.State.UP);
        assertEquals("OK\r\n", call(port, "slabs automove 0\r\n"));
        assertEquals("0", stats(call(cluster.mains.get(0).port(), "stats settings\r\n")).get("slab_automove"));
    }

    @Test
    void memcachedToolReadsTheMergedStats() throws Exception {
        java.nio.file.Path tool = java.nio.file.Path.of("/usr/share/memcached/scripts/memcached-tool");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(tool),
                "memcached-tool is not installed (Debian's memcached package has it)");
        int port = ProxyFixture.port(proxy);
        try (RawClient c = new RawClient(port)) {
            for (int i = 0; i < 30; i++) {
                c.call("set tool" + i + " 0 0 5\r\nhello\r\n");
            }
        }
        Process p = new ProcessBuilder("perl", tool.toString(), "127.0.0.1:" + port, "display")
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), out);
        // "  #  Item_Size  Max_age   Pages   Count   Full?  Evicted Evict_Time OOM", then one line per class
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^\\s*1\\s+96B\\s+\\d+s\\s+(\\d+)\\s+(\\d+)\\s")
                .matcher(out);
        assertTrue(m.find(), out);
        assertEquals("30", m.group(2), out);
        assertEquals("2", m.group(1), "one page on each main\n" + out);
    }

    @Test
    void statsSubCommandsMergeTheMains() throws Exception {
        int port = ProxyFixture.port(proxy);
        try (RawClient c = new RawClient(port)) {
            for (int i = 0; i < 200; i++) {
                c.call("set key" + i + " 0 0 " + (i % 3 == 0 ? 2000 : 10) + "\r\n"
                        + "x".repeat(i % 3 == 0 ? 2000 : 10) + "\r\n");
            }
            assertEquals("OK\r\n", c.call("stats detail on\r\n"));
            for (int i = 0; i < 50; i++) {
                c.call("get user:" + i + "\r\n");
                c.call("get key" + i + "\r\n");
            }
        }
        List<Map<String, String>> mainItems = new ArrayList<>();
        List<Map<String, String>> mainSlabs = new ArrayList<>();
        for (MemcachedProcess m : cluster.mains) {
            mainItems.add(stats(call(m.port(), "stats items\r\n")));
            mainSlabs.add(stats(call(m.port(), "stats slabs\r\n")));
        }
        // stats items: memcached's names, counts summed over the mains (the backup holds copies)
        String itemsReply = call(port, "stats items\r\n");
        assertTrue(itemsReply.endsWith("END\r\n"), itemsReply);
        Map<String, String> items = stats(itemsReply);
        assertTrue(items.keySet().containsAll(mainItems.get(0).keySet()), itemsReply);
        long total = 0;
        for (String name : items.keySet()) {
            if (name.endsWith(":number")) {
                assertEquals(number(mainItems.get(0), name) + number(mainItems.get(1), name), number(items, name), name);
                total += number(items, name);
            }
        }
        assertEquals(200, total);
        // stats slabs: per-class counts summed, chunk sizes as they are, active_slabs the classes in use
        Map<String, String> slabs = stats(call(port, "stats slabs\r\n"));
        assertEquals(mainSlabs.get(0).keySet().stream().filter(n -> n.contains(":")).count() > 0, true);
        for (String name : slabs.keySet()) {
            if (name.endsWith(":used_chunks") || name.endsWith(":total_pages") || name.equals("total_malloced")) {
                assertEquals(number(mainSlabs.get(0), name) + number(mainSlabs.get(1), name), number(slabs, name), name);
            } else if (name.endsWith(":chunk_size")) {
                String size = mainSlabs.get(0).getOrDefault(name, mainSlabs.get(1).get(name));
                assertEquals(size, slabs.get(name), name);
            }
        }
        assertEquals(Long.toString(slabs.keySet().stream().filter(n -> n.endsWith(":chunk_size")).count()),
                slabs.get("active_slabs"));
        List<String> names = new ArrayList<>(slabs.keySet());
        assertEquals(List.of("active_slabs", "total_malloced"), names.subList(names.size() - 2, names.size()));
        // stats settings: the first main's
        assertEquals(call(cluster.mains.get(0).port(), "stats settings\r\n"), call(port, "stats settings\r\n"));
        // stats sizes: as memcached answers with size tracking off
        assertEquals("STAT sizes_status disabled\r\nEND\r\n", call(port, "stats sizes\r\n"));
        // stats conns: both mains' connections, numbered apart
        String conns = call(port, "stats conns\r\n");
        assertTrue(conns.matches("(STAT \\d+:\\S+ [^\r\n]*\r\n)+END\r\n"), conns);
        assertTrue(conns.contains(":state conn_listening"), conns);
        // stats detail dump: the prefixes summed over the mains
        String dump = call(port, "stats detail dump\r\n");
        assertTrue(dump.contains("PREFIX user get 50 hit 0 set 0 del 0\r\n"), dump);
        assertTrue(dump.endsWith("END\r\n"), dump);
        // magent's own form: one server's reply as it is, backups included
        for (MemcachedProcess m : everyServer()) {
            String direct = call(m.port(), "stats settings\r\n");
            assertEquals(direct, call(port, "stats settings " + m.address() + "\r\n"));
            assertEquals(stats(call(m.port(), "stats items\r\n")).get("items:1:number"),
                    stats(call(port, "stats items " + m.address() + "\r\n")).get("items:1:number"));
        }

        // stats reset: every server's counters and the proxy's
        assertEquals("RESET\r\n", call(port, "stats reset\r\n"));
        for (MemcachedProcess m : everyServer()) {
            Map<String, String> s = stats(call(m.port(), "stats\r\n"));
            assertEquals("0", s.get("cmd_get"), m.address().toString());
            assertEquals("0", s.get("cmd_set"), m.address().toString());
        }
        Map<String, String> own = stats(call(port, "stats\r\n"));
        assertEquals("0", own.get("cmd_get"));
        assertEquals("0", own.get("cmd_set"));
        assertEquals("0", own.get("get_misses"));

        // a main out of service is left out: the other main's figures, the settings of the first in service
        Map<String, String> second = stats(call(cluster.mains.get(1).port(), "stats items\r\n"));
        String secondSettings = call(cluster.mains.get(1).port(), "stats settings\r\n");
        cluster.mains.get(0).kill();
        MemcachedProcess.await("the stopped main is out of service", java.time.Duration.ofSeconds(10),
                () -> ProxyFixture.server(proxy, cluster.mains.get(0)).state() != BackendServer.State.UP);
        assertEquals(second.get("items:1:number"), stats(call(port, "stats items\r\n")).get("items:1:number"));
        assertEquals(secondSettings, call(port, "stats settings\r\n"));
        assertTrue(call(port, "stats items " + cluster.mains.get(0).address() + "\r\n").startsWith("SERVER_ERROR "));
    }
}
