package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import net.rubyeye.xmemcached.GetsResponse;
import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.command.BinaryCommandFactory;
import net.spy.memcached.AddrUtil;
import net.spy.memcached.CASResponse;
import net.spy.memcached.CASValue;
import net.spy.memcached.ConnectionFactoryBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real Java memcached clients, unchanged, against magent over two mains and a backup, each in text and in
 * binary mode (magent tells the protocols apart by a connection's first byte, as memcached does).
 */
class ClientCompatibilityIT {
    private static ProxyFixture cluster;
    private static MagentProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        proxy = cluster.proxy();
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"text", "binary"})
    void spymemcached(String protocol) throws Exception {
        boolean binary = protocol.equals("binary");
        String p = "spy-" + protocol + "-";
        net.spy.memcached.MemcachedClient client = new net.spy.memcached.MemcachedClient(
                new ConnectionFactoryBuilder().setProtocol(binary ? ConnectionFactoryBuilder.Protocol.BINARY
                                : ConnectionFactoryBuilder.Protocol.TEXT)
                        .setOpTimeout(5000).build(),
                AddrUtil.getAddresses("127.0.0.1:" + ProxyFixture.port(proxy)));
        try {
            for (int i = 0; i < 20; i++) {
                assertTrue(client.set(p + i, 0, "value" + i).get());
            }
            assertEquals("value3", client.get(p + 3));
            // in binary mode a bulk get is a run of quiet getkq requests ended by a noop
            Map<String, Object> bulk = client.getBulk(List.of(p + 1, p + 2, p + 19, p + "missing"));
            assertEquals(Map.of(p + 1, "value1", p + 2, "value2", p + 19, "value19"), bulk);
            assertTrue(client.set(p + "counter", 0, "5").get());
            assertEquals(8, client.incr(p + "counter", 3));
            assertEquals(6, client.decr(p + "counter", 2));
            assertEquals(7, client.incr(p + "fresh", 1, 7, 0)); // a miss stores the default
            assertEquals(8, client.incr(p + "fresh", 1, 7, 0));
            CASValue<Object> cas = client.gets(p + 5);
            assertEquals(CASResponse.OK, client.cas(p + 5, cas.getCas(), "changed"));
            assertEquals(CASResponse.EXISTS, client.cas(p + 5, cas.getCas(), "again"));
            assertEquals("changed", client.get(p + 5));
            assertTrue(client.add(p + "added", 0, "a").get());
            assertFalse(client.add(p + "added", 0, "b").get());
            assertTrue(client.append(0, p + "added", "z").get());
            assertEquals("az", client.get(p + "added"));
            assertTrue(client.touch(p + 6, 300).get());
            if (binary) { // spymemcached offers get-and-touch only in binary mode
                assertEquals("value6", client.getAndTouch(p + 6, 300).getValue());
            }
            assertTrue(client.delete(p + 5).get());
            assertNull(client.get(p + 5));
            assertFalse(client.delete(p + 5).get());
            assertFalse(client.getVersions().isEmpty());
            assertFalse(client.getStats().isEmpty());
        } finally {
            client.shutdown();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"text", "binary"})
    void xmemcached(String protocol) throws Exception {
        boolean binary = protocol.equals("binary");
        String p = "xm-" + protocol + "-";
        XMemcachedClientBuilder builder = new XMemcachedClientBuilder(
                List.of(new InetSocketAddress("127.0.0.1", ProxyFixture.port(proxy))));
        if (binary) {
            builder.setCommandFactory(new BinaryCommandFactory());
        }
        MemcachedClient client = builder.build();
        try {
            client.setOpTimeout(5000);
            for (int i = 0; i < 20; i++) {
                assertTrue(client.set(p + i, 0, "value" + i));
            }
            assertEquals("value7", client.get(p + 7));
            Map<String, Object> bulk = client.get(List.of(p + 1, p + 2, p + 18, p + "missing"));
            assertEquals(Map.of(p + 1, "value1", p + 2, "value2", p + 18, "value18"), bulk);
            assertTrue(client.set(p + "counter", 0, "10"));
            assertEquals(15, client.incr(p + "counter", 5));
            assertEquals(14, client.decr(p + "counter", 1));
            assertEquals(3, client.incr(p + "fresh", 1, 3)); // a miss stores the initial value
            GetsResponse<Object> gets = client.gets(p + 3);
            assertTrue(client.cas(p + 3, 0, "changed", gets.getCas()));
            assertFalse(client.cas(p + 3, 0, "again", gets.getCas()));
            assertEquals("changed", client.get(p + 3));
            assertTrue(client.touch(p + 4, 300));
            if (binary) { // so does xmemcached
                assertEquals("value4", client.getAndTouch(p + 4, 300));
            }
            assertTrue(client.delete(p + 3));
            assertNull(client.get(p + 3));
            assertFalse(client.getVersions().isEmpty());
        } finally {
            client.shutdown();
        }
    }
}
