package dev.magent.bench;

import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.spy.memcached.DefaultHashAlgorithm;
import net.spy.memcached.KetamaNodeLocator;
import net.spy.memcached.MemcachedNode;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Finding a key's server: magent's ketama ring next to spymemcached's {@code KetamaNodeLocator} (the same
 * placement, 160 points per server, MD5) in the same run, and magent's modulo ring (C magent's default).
 * Each invocation locates the next of {@value #KEYS} different 32-byte keys. spymemcached takes keys as
 * Strings, magent as bytes: each is given what it takes, prepared in advance.
 */
@State(Scope.Thread)
public class LocateBenchmark extends HotPathBenchmark {
    static final int KEYS = 4096;

    @Param({"3", "10", "100"})
    int servers;

    private Ring ketama;
    private Ring backupKetama;
    private Ring modulo;
    private KetamaNodeLocator spymemcached;
    private byte[][] keys;
    private String[] keyStrings;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        List<Server> ring = new ArrayList<>();
        List<MemcachedNode> nodes = new ArrayList<>();
        for (int i = 0; i < servers; i++) {
            ring.add(Server.of("10.0." + (i / 250) + "." + (i % 250 + 1), 11211 + i));
            nodes.add(node(new InetSocketAddress(ring.get(i).host(), ring.get(i).port())));
        }
        ketama = Ring.of(Algorithm.KETAMA, ring);
        List<Server> backups = new ArrayList<>();
        for (int i = 0; i < servers; i++) {
            backups.add(Server.of("10.1." + (i / 250) + "." + (i % 250 + 1), 11211 + i));
        }
        backupKetama = Ring.of(Algorithm.KETAMA, backups);
        modulo = Ring.of(Algorithm.MODULO, ring);
        spymemcached = new KetamaNodeLocator(nodes, DefaultHashAlgorithm.KETAMA_HASH);
        keys = keys(KEYS);
        keyStrings = new String[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keyStrings[i] = new String(keys[i], StandardCharsets.US_ASCII);
        }
        // both are meant to place every key alike (docs/hashing.md): compared, so a difference is seen
        int differ = 0;
        for (int i = 0; i < KEYS; i++) {
            if (spymemcached.getPrimary(keyStrings[i]) != nodes.get(ketama.indexFor(keys[i]))) {
                differ++;
            }
        }
        if (differ > 0) {
            System.err.printf("LocateBenchmark: magent and spymemcached place %d of %d keys differently%n",
                    differ, KEYS);
        }
    }

    @Benchmark
    public int magentKetama() {
        return ketama.indexFor(keys[next()]);
    }

    /**
     * What a write with a backup does: the same key placed in the mains' ring and in the backup's (a read
     * the main missed does the same). The second placement finds the key's position remembered.
     */
    @Benchmark
    public int magentKetamaMainAndBackup() {
        byte[] key = keys[next()];
        return ketama.indexFor(key) + backupKetama.indexFor(key);
    }

    @Benchmark
    public MemcachedNode spymemcachedKetama() {
        return spymemcached.getPrimary(keyStrings[next()]);
    }

    @Benchmark
    public int magentModulo() {
        return modulo.indexFor(keys[next()]);
    }

    private int next() {
        return next = (next + 1) & (KEYS - 1);
    }

    /**
     * A stand-in for spymemcached's connection to a server: the locator only asks for its address (and
     * uses it as a map key), so a dynamic proxy answering those is enough.
     */
    static MemcachedNode node(InetSocketAddress address) {
        return (MemcachedNode) Proxy.newProxyInstance(LocateBenchmark.class.getClassLoader(),
                new Class<?>[] {MemcachedNode.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getSocketAddress" -> address;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "node " + address;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
