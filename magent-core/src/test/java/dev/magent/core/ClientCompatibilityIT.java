package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.GetsResponse;
import net.spy.memcached.CASResponse;
import net.spy.memcached.CASValue;
import net.spy.memcached.ConnectionFactoryBuilder;
import net.spy.memcached.AddrUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real Java memcached clients, unchanged, against magent over two mains and a backup. */
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

    @Test
    void spymemcached() throws Exception {
        net.spy.memcached.MemcachedClient client = new net.spy.memcached.MemcachedClient(
                new ConnectionFactoryBuilder().setProtocol(ConnectionFactoryBuilder.Protocol.TEXT)
                        .setOpTimeout(5000).build(),
                AddrUtil.getAddresses("127.0.0.1:" + ProxyFixture.port(proxy)));
        try {
            for (int i = 0; i < 20; i++) {
                assertTrue(client.set("spy" + i, 0, "value" + i).get());
            }
            assertEquals("value3", client.get("spy3"));
            Map<String, Object> bulk = client.getBulk(List.of("spy1", "spy2", "spy19", "spy-missing"));
            assertEquals(Map.of("spy1", "value1", "spy2", "value2", "spy19", "value19"), bulk);
            assertTrue(client.set("spyCounter", 0, "5").get());
            assertEquals(8, client.incr("spyCounter", 3));
            assertEquals(6, client.decr("spyCounter", 2));
            CASValue<Object> cas = client.gets("spy5");
            assertEquals(CASResponse.OK, client.cas("spy5", cas.getCas(), "changed"));
            assertEquals(CASResponse.EXISTS, client.cas("spy5", cas.getCas(), "again"));
            assertEquals("changed", client.get("spy5"));
            assertTrue(client.delete("spy5").get());
            assertNull(client.get("spy5"));
            assertFalse(client.getVersions().isEmpty());
            assertFalse(client.getStats().isEmpty());
        } finally {
            client.shutdown();
        }
    }

    @Test
    void xmemcached() throws Exception {
        MemcachedClient client = new XMemcachedClientBuilder(
                List.of(new InetSocketAddress("127.0.0.1", ProxyFixture.port(proxy)))).build();
        try {
            client.setOpTimeout(5000);
            for (int i = 0; i < 20; i++) {
                assertTrue(client.set("xm" + i, 0, "value" + i));
            }
            assertEquals("value7", client.get("xm7"));
            Map<String, Object> bulk = client.get(List.of("xm1", "xm2", "xm18", "xm-missing"));
            assertEquals(Map.of("xm1", "value1", "xm2", "value2", "xm18", "value18"), bulk);
            assertTrue(client.set("xmCounter", 0, "10"));
            assertEquals(15, client.incr("xmCounter", 5));
            assertEquals(14, client.decr("xmCounter", 1));
            GetsResponse<Object> gets = client.gets("xm3");
            assertTrue(client.cas("xm3", 0, "changed", gets.getCas()));
            assertFalse(client.cas("xm3", 0, "again", gets.getCas()));
            assertEquals("changed", client.get("xm3"));
            assertTrue(client.delete("xm3"));
            assertNull(client.get("xm3"));
        } finally {
            client.shutdown();
        }
    }
}
