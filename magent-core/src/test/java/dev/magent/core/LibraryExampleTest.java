package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Keys;
import dev.magent.protocol.MemcacheClientCodec;
import dev.magent.protocol.MemcacheServerCodec;
import dev.magent.protocol.ProtocolError;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The examples of docs/library.md, compiled and run: magent-protocol and magent-hashing used on their own.
 * The regions between {@code tag::name[]} and {@code end::name[]} are quoted in the doc; the last test
 * checks that the doc still quotes them word for word.
 */
class LibraryExampleTest {

    // tag::server[]
    /** A memcached server in one handler: the codec turns bytes into Commands and Replies into bytes. */
    static final class TinyCache extends SimpleChannelInboundHandler<Object> {
        private record Item(int flags, byte[] data) {
        }

        private final Map<String, Item> items = new HashMap<>();

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ProtocolError error) { // bad input: answer as memcached does
                if (!error.silent()) {
                    ctx.write(error.reply());
                }
                if (error.closeConnection()) {
                    ctx.close();
                }
                return;
            }
            Reply reply = answer((Command) msg);
            if (!((Command) msg).noreply()) {
                ctx.write(reply);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush(); // one flush per batch of pipelined requests
        }

        private Reply answer(Command command) {
            if (command instanceof StorageCommand set && set.verb() == Verb.SET) {
                // the value is a slice of the received bytes, released after this method: copy it
                items.put(Keys.toString(set.key()), new Item(set.flags(), ByteBufUtil.getBytes(set.value())));
                return StatusReply.STORED;
            }
            if (command instanceof RetrievalCommand get && get.verb() == Verb.GET) {
                List<Value> hits = new ArrayList<>();
                for (byte[] key : get.keys()) {
                    Item item = items.get(Keys.toString(key));
                    if (item != null) {
                        hits.add(new Value(key, item.flags(), Unpooled.wrappedBuffer(item.data()), Value.NO_CAS));
                    }
                }
                return new ValuesReply(hits); // the encoder writes VALUE lines and END, then releases it
            }
            if (command instanceof DeleteCommand delete) {
                return items.remove(Keys.toString(delete.key())) != null ? StatusReply.DELETED : StatusReply.NOT_FOUND;
            }
            return ErrorReply.server("not supported by this tiny cache: " + command.verb().wireName());
        }
    }
    // end::server[]

    @Test
    void aTinyMemcachedServerOnAnEmbeddedChannel() {
        // tag::server-test[]
        EmbeddedChannel server = new EmbeddedChannel(new MemcacheServerCodec(), new TinyCache());
        server.writeInbound(ascii("set greeting 5 0 5\r\nhello\r\nget greeting nothing\r\n"));
        assertEquals("STORED\r\nVALUE greeting 5 5\r\nhello\r\nEND\r\n", readAll(server));

        server.writeInbound(ascii("delete greeting noreply\r\nget greeting\r\nincr n 1\r\nbogus\r\n"));
        assertEquals("END\r\nSERVER_ERROR not supported by this tiny cache: incr\r\nERROR\r\n", readAll(server));
        assertFalse(server.finish()); // nothing left over, nothing leaked
        // end::server-test[]
    }

    @Test
    void theClientCodecTalksToIt() {
        // tag::client[]
        EmbeddedChannel client = new EmbeddedChannel(new MemcacheClientCodec());
        EmbeddedChannel server = new EmbeddedChannel(new MemcacheServerCodec(), new TinyCache());

        client.writeOutbound(StorageCommand.set(Keys.of("k"), 0, 0, Unpooled.copiedBuffer("v1", StandardCharsets.UTF_8)),
                RetrievalCommand.get(Keys.of("k"), Keys.of("other")));
        server.writeInbound(drain(client));      // the request bytes go to the server...
        client.writeInbound(drain(server));      // ...and its reply bytes come back

        assertEquals(StatusReply.STORED, client.readInbound());
        ValuesReply values = client.readInbound();
        try {
            assertEquals(1, values.values().size());
            assertEquals("v1", values.values().get(0).data().toString(StandardCharsets.UTF_8));
        } finally {
            values.release(); // replies holding values are reference-counted
        }
        assertFalse(client.finish());
        assertFalse(server.finish());
        // end::client[]
    }

    @Test
    void locatingKeysWithKetama() {
        // tag::ring[]
        List<Server> three = List.of(Server.of("10.0.0.1", 11211), Server.of("10.0.0.2", 11211),
                Server.of("10.0.0.3", 11211));
        Ring ring = Ring.of(Algorithm.KETAMA, three);
        Server owner = ring.serverFor("user:42".getBytes(StandardCharsets.UTF_8));
        assertTrue(three.contains(owner));

        // a fourth server takes about a quarter of the keys, and only keys that move to it move
        List<Server> four = new ArrayList<>(three);
        four.add(Server.of("10.0.0.4", 11211));
        Ring bigger = Ring.of(Algorithm.KETAMA, four);
        int moved = 0;
        for (int i = 0; i < 10_000; i++) {
            byte[] key = ("user:" + i).getBytes(StandardCharsets.UTF_8);
            Server before = ring.serverFor(key);
            Server after = bigger.serverFor(key);
            if (!before.equals(after)) {
                moved++;
                assertEquals("10.0.0.4:11211", after.name());
            }
        }
        assertTrue(moved > 1_500 && moved < 3_500, moved + " of 10000 keys moved");
        // end::ring[]
    }

    @Test
    void theDocQuotesTheseExamplesWordForWord() throws IOException {
        String source = Files.readString(Path.of("src/test/java/dev/magent/core/LibraryExampleTest.java"));
        String doc = Files.readString(Path.of("../docs/library.md"));
        Matcher m = Pattern.compile("// tag::([a-z-]+)\\[]\\n(.*?)\\n\\s*// end::\\1\\[]", Pattern.DOTALL).matcher(source);
        int regions = 0;
        while (m.find()) {
            regions++;
            String region = outdent(m.group(2));
            assertTrue(doc.contains(region), "docs/library.md does not quote region '" + m.group(1)
                    + "' of LibraryExampleTest as it is now:\n" + region);
        }
        assertEquals(4, regions);
    }

    /** Removes the indentation the region's lines share. */
    private static String outdent(String region) {
        String[] lines = region.split("\n");
        int common = Integer.MAX_VALUE;
        for (String line : lines) {
            if (!line.isBlank()) {
                common = Math.min(common, line.length() - line.stripLeading().length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String line : lines) {
            sb.append(line.isBlank() ? "" : line.substring(common)).append('\n');
        }
        return sb.toString();
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    /** Everything a channel wrote, as one buffer. */
    private static ByteBuf drain(EmbeddedChannel channel) {
        ByteBuf all = Unpooled.buffer();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            all.writeBytes(b);
            b.release();
        }
        return all;
    }

    private static String readAll(EmbeddedChannel channel) {
        ByteBuf all = drain(channel);
        try {
            return all.toString(StandardCharsets.UTF_8);
        } finally {
            all.release();
        }
    }
}
