package dev.magent.hashing;

import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.spy.memcached.DefaultHashAlgorithm;
import net.spy.memcached.KetamaNodeKeyFormatter;
import net.spy.memcached.KetamaNodeLocator;
import net.spy.memcached.MemcachedNode;

/** spymemcached's KetamaNodeLocator over nodes that know nothing but their address. */
final class Spymemcached {
    static {
        // KetamaNodeLocator asserts that its TreeMap holds 160 points per server, which is false for weighted
        // lists and whenever two servers share a point; clients run without -ea, so the tests do too
        Spymemcached.class.getClassLoader().setPackageAssertionStatus("net.spy.memcached", false);
    }

    final List<MemcachedNode> nodes = new ArrayList<>();
    final KetamaNodeLocator locator;

    private Spymemcached(List<Server> servers, KetamaNodeKeyFormatter.Format format, boolean weighted, boolean plain) {
        Map<InetSocketAddress, Integer> weights = new HashMap<>();
        for (Server s : servers) {
            // SPYMEMCACHED names a point String.valueOf(address) minus a leading '/': "/10.0.0.1:11211" for a
            // resolved IP literal (no DNS lookup). LIBMEMCACHED uses getHostName(), which an unresolved
            // address answers without a reverse lookup.
            InetSocketAddress address = format == KetamaNodeKeyFormatter.Format.SPYMEMCACHED
                    ? new InetSocketAddress(s.host(), s.port())
                    : InetSocketAddress.createUnresolved(s.host(), s.port());
            nodes.add(node(address));
            weights.put(address, s.weight());
        }
        locator = plain
                ? new KetamaNodeLocator(nodes, DefaultHashAlgorithm.KETAMA_HASH)
                : new KetamaNodeLocator(nodes, DefaultHashAlgorithm.KETAMA_HASH, format,
                        weighted ? weights : Map.of());
    }

    /** spymemcached's default configuration: {@code new KetamaNodeLocator(nodes, KETAMA_HASH)}, no weights. */
    static Spymemcached defaults(List<Server> servers) {
        return new Spymemcached(servers, KetamaNodeKeyFormatter.Format.SPYMEMCACHED, false, true);
    }

    /** A locator with a key format, given the servers' weights or not. */
    static Spymemcached with(List<Server> servers, KetamaNodeKeyFormatter.Format format, boolean weighted) {
        return new Spymemcached(servers, format, weighted, false);
    }

    int indexFor(String key) {
        return nodes.indexOf(locator.getPrimary(key));
    }

    private static MemcachedNode node(InetSocketAddress address) {
        return (MemcachedNode) Proxy.newProxyInstance(Spymemcached.class.getClassLoader(),
                new Class<?>[] {MemcachedNode.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getSocketAddress" -> address;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "node " + address;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
