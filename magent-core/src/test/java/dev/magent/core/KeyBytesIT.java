package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every byte 0x00-0xFF inside a key, through memcached directly and through magent (two mains and a
 * backup): the replies must be the same bytes. memcached takes any byte but space and LF in a key, and a
 * NUL ends its line; magent must neither refuse more nor take more.
 */
class KeyBytesIT {
    /** incr's answer, 1001 and up, is a line no other reply in the session can be: it ends the session. */
    private static final String SENTINEL = "incr zz_sentinel 1\r\n";

    private ProxyFixture cluster;
    private MemcachedProcess reference;

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        reference = cluster.reference();
    }

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void everyKeyByteIsAnsweredAsMemcachedAnswersIt() throws Exception {
        MagentProxy proxy = cluster.proxy();
        List<String> direct = sessions(reference.port());
        List<String> proxied = sessions(ProxyFixture.port(proxy));
        for (int b = 0; b < 256; b++) {
            assertEquals(direct.get(b), proxied.get(b), "key byte 0x" + Integer.toHexString(b));
        }
        // the bytes memcached stores were stored: a sanity check that the sessions did what they say
        for (int b = 1; b < 256; b++) {
            if (b != ' ' && b != '\n') {
                assertEquals(true, proxied.get(b).startsWith("STORED\r\nVALUE k" + (char) b + "x 0 1\r\n"),
                        "byte 0x" + Integer.toHexString(b) + ": " + proxied.get(b));
            }
        }
    }

    /** For each byte: set, get (alone and among others), touch, incr, append, delete and get a key holding it. */
    private static List<String> sessions(int port) throws Exception {
        List<String> replies = new ArrayList<>(256);
        try (RawClient c = new RawClient(port)) {
            c.call("set zz_sentinel 0 0 4\r\n1000\r\n");
            for (int b = 0; b < 256; b++) {
                String k = "k" + (char) b + "x";
                String one = "o" + (char) b;
                String session = "set " + k + " 0 0 1\r\nv\r\n"
                        + "get " + k + "\r\n"
                        + "gets zz_none " + k + " zz_none2\r\n"
                        + "touch " + k + " 100\r\n"
                        + "append " + k + " 0 0 1\r\nw\r\n"
                        + "get " + k + "\r\n"
                        + "set " + one + " 0 0 1\r\n5\r\n"
                        + "incr " + one + " 2\r\n"
                        + "delete " + k + "\r\n"
                        + "delete " + one + "\r\n"
                        + "get " + k + "\r\n"
                        + SENTINEL;
                String reply = c.call(session, line -> line.matches("1\\d\\d\\d\r\n"));
                // the cas of gets differs between memcached and the proxy's servers: mask it
                replies.add(reply.replaceAll("(VALUE [^ ]+ \\d+ \\d+) \\d+\r\n", "$1 <cas>\r\n")
                        .replaceAll("\\d+\r\n$", "<n>\r\n"));
            }
        }
        return replies;
    }
}
