package dev.magent.bench;

import dev.magent.protocol.ReplyEncoder;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@link ReplyEncoder} on a multi-get reply: {@code VALUE} lines and data blocks for {@code values} hits of
 * {@code valueSize} bytes, then {@code END} (100-byte values are copied into the reply's text buffer,
 * 10 KiB ones forwarded). Written through a pipeline with the void promise, as the
 * proxy's client handler writes; a sink in front of the head releases the encoded buffers instead of sending
 * them. The reply's data are pooled direct buffers, retained once per invocation because the encoder
 * releases the reply it consumes. Scores are per reply.
 */
@State(Scope.Thread)
public class ReplyEncoderBenchmark extends HotPathBenchmark {
    @Param({"1", "10", "100"})
    int values;

    @Param({"100", "10240"})
    int valueSize;

    private EmbeddedChannel channel;
    private ChannelPipeline pipeline;
    private ChannelPromise voidPromise;
    private final Sink sink = new Sink();
    private ValuesReply reply;

    @Setup(Level.Trial)
    public void setUp() {
        channel = new EmbeddedChannel(sink, new ReplyEncoder());
        channel.config().setAllocator(ALLOC);
        pipeline = channel.pipeline();
        voidPromise = channel.voidPromise();
        byte[][] keys = keys(values);
        List<Value> hits = new ArrayList<>(values);
        for (byte[] key : keys) {
            hits.add(new Value(key, 0, data(valueSize), Value.NO_CAS));
        }
        reply = new ValuesReply(hits);
        encode();
        // text, data per value, and the final END line
        if (sink.bytes != values * (valueSize + ("VALUE  0 " + valueSize + "\r\n\r\n").length() + keys[0].length) + 5
                || reply.refCnt() != 1) {
            throw new IllegalStateException("encoded " + sink.bytes + " bytes in " + sink.buffers
                    + " buffers; reply refCnt " + reply.refCnt());
        }
    }

    @Benchmark
    public int encode() {
        pipeline.write(reply.retain(), voidPromise);
        return sink.buffers;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        reply.release();
        if (channel.finish()) {
            throw new IllegalStateException("the encoder left messages behind");
        }
    }

    /** In front of the head: counts and releases what the encoder wrote, instead of queueing it to send. */
    private static final class Sink extends ChannelOutboundHandlerAdapter {
        int buffers;
        long bytes;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            buffers++;
            bytes += ((ByteBuf) msg).readableBytes();
            ReferenceCountUtil.release(msg);
        }
    }
}
