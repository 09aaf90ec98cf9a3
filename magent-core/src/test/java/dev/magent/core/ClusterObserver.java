package dev.magent.core;

import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the reliability tests look at from outside the proxy: where a key belongs, the proxy's {@code stats}
 * as a client sees them, items read directly from a memcached with {@code mg}, and the JVM's memory.
 */
final class ClusterObserver {
    private ClusterObserver() {
    }

    /**
     * The index among {@code mains} of a key's main server, computed with the public ring, as every proxy
     * over the same servers computes it (docs/semantics.md, "Several proxies").
     */
    static int mainIndex(List<MemcachedProcess> mains, String key) {
        return ring(mains).indexFor(key.getBytes(StandardCharsets.UTF_8));
    }

    static Ring ring(List<MemcachedProcess> mains) {
        return Ring.of(Algorithm.MODULO, mains.stream().map(m -> Server.of("127.0.0.1", m.port())).toList());
    }

    /** {@link #mainIndex} over any servers, fakes included. */
    static int mainIndexAmong(List<ServerAddress> mains, String key) {
        return Ring.of(Algorithm.MODULO, mains.stream().map(a -> Server.of(a.host(), a.port())).toList())
                .indexFor(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The items a server holds for the proxies themselves (docs/partitions.md): the proxy list and the alive
     * key of each proxy in it, which the backups always hold. Subtracted from {@code curr_items} by tests
     * that count the data on a backup.
     */
    static long proxyRecords(MemcachedProcess m) throws IOException {
        try (TextClient c = new TextClient(m.port())) {
            String members = c.get("__magent_proxies");
            if (members == null) {
                return 0;
            }
            long n = 1;
            for (String id : members.split(" ")) {
                n += !id.isEmpty() && c.get("__magent_alive_" + id) != null ? 1 : 0;
            }
            return n;
        }
    }

    /** {@code stats} over a client connection, as name → value. */
    static Map<String, String> stats(TextClient c) throws IOException {
        String reply = c.call("stats\r\n");
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : reply.split("\r\n")) {
            if (line.startsWith("STAT ")) {
                int sp = line.indexOf(' ', 5);
                out.put(line.substring(5, sp), line.substring(sp + 1));
            }
        }
        return out;
    }

    /** The {@code matrix_N} entry for a server, e.g. "127.0.0.1:1234 role=main state=up ... hinted_keys=0". */
    static String matrix(Map<String, String> stats, ServerAddress server) {
        for (Map.Entry<String, String> e : stats.entrySet()) {
            if (e.getKey().startsWith("matrix_") && e.getValue().startsWith(server + " ")) {
                return e.getValue();
            }
        }
        throw new AssertionError("no matrix entry for " + server + " in " + stats);
    }

    /** The {@code resync_N} entry for a server, or null when it never had a catch-up. */
    static String resyncLine(Map<String, String> stats, ServerAddress server) {
        for (Map.Entry<String, String> e : stats.entrySet()) {
            if (e.getKey().startsWith("resync_") && e.getValue().startsWith(server + " ")) {
                return e.getValue();
            }
        }
        return null;
    }

    /** A {@code name=value} field of a matrix or resync entry, or null. */
    static String field(String entry, String name) {
        for (String part : entry.split(" ")) {
            if (part.startsWith(name + "=")) {
                return part.substring(name.length() + 1);
            }
        }
        return null;
    }

    /** Whether the proxy shows the server up with no hinted keys left, as a client reading stats sees it. */
    static boolean upWithoutHints(MagentProxy proxy, ServerAddress server) {
        try (TextClient c = ProxyFixture.client(proxy)) {
            String m = matrix(stats(c), server);
            return "up".equals(field(m, "state")) && "0".equals(field(m, "hinted_keys"));
        } catch (IOException e) {
            return false;
        }
    }

    /** An item as memcached holds it: value, client flags, remaining TTL (-1: none). */
    record Item(String value, long flags, long ttl) {
    }

    /** Reads an item directly from a memcached with {@code mg <key> t f v}; null on a miss. */
    static Item mg(TextClient direct, String key) throws IOException {
        direct.send("mg " + key + " t f v\r\n");
        String line = direct.readLine();
        if (line.equals("EN\r\n")) {
            return null;
        }
        if (!line.startsWith("VA ")) {
            throw new IOException("unexpected mg reply for " + key + ": " + line);
        }
        long ttl = Long.MIN_VALUE;
        long flags = Long.MIN_VALUE;
        for (String part : line.trim().split(" ")) {
            if (part.startsWith("t")) {
                ttl = Long.parseLong(part.substring(1));
            } else if (part.startsWith("f")) {
                flags = Long.parseLong(part.substring(1));
            }
        }
        String data = direct.readLine(); // test values never contain CRLF
        return new Item(data.substring(0, data.length() - 2), flags, ttl);
    }

    /** Heap in use after a full collection (best effort: a few GCs until it settles). */
    static long usedHeapAfterGc() {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            best = Math.min(best, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return best;
    }

    /**
     * Direct memory held by Netty's default allocator (where the proxy's buffers live: the adaptive allocator
     * in Netty 4.2), or by the JVM's direct buffer pool if the allocator has no metric.
     */
    static long nettyDirectMemory() {
        if (io.netty.buffer.ByteBufAllocator.DEFAULT instanceof io.netty.buffer.ByteBufAllocatorMetricProvider p) {
            return p.metric().usedDirectMemory();
        }
        return ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(java.lang.management.BufferPoolMXBean::getMemoryUsed)
                .sum();
    }
}
