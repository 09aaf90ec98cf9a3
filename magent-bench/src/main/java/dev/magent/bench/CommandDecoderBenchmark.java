package dev.magent.bench;

import dev.magent.protocol.CommandDecoder;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.StorageCommand;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@link CommandDecoder} on a pipelined batch of {@value #BATCH} requests arriving in one read, as the proxy
 * sees a busy client: the batch sits in one pooled direct buffer and each invocation feeds a duplicate of it
 * through a real pipeline (decoder, then a sink that releases what comes out, as the proxy releases a
 * command once forwarded). Scores are per request.
 *
 * <ul>
 *   <li>{@code gets}: {@code get <key>} only;</li>
 *   <li>{@code sets}: {@code set <key> 0 0 <n>} with an n-byte data block;</li>
 *   <li>{@code mixed}: the load test's mix, 1 set to 10 gets (3 sets, 29 gets, interleaved).</li>
 * </ul>
 */
@State(Scope.Thread)
public class CommandDecoderBenchmark extends HotPathBenchmark {
    static final int BATCH = 32;

    /** The data block size of the sets. */
    @State(Scope.Thread)
    public static class ValueSize {
        @Param({"10", "100", "10240"})
        int valueSize;
    }

    private EmbeddedChannel channel;
    private ChannelPipeline pipeline;
    private final Sink sink = new Sink();
    private ByteBuf gets;
    private ByteBuf sets;
    private ByteBuf mixed;
    private int preparedSize = -1;

    @Setup(Level.Trial)
    public void setUp() {
        channel = new EmbeddedChannel(new CommandDecoder(), sink);
        channel.config().setAllocator(ALLOC);
        pipeline = channel.pipeline();
        byte[][] keys = keys(BATCH);
        StringBuilder text = new StringBuilder();
        for (byte[] key : keys) {
            text.append("get ").append(new String(key, StandardCharsets.US_ASCII)).append("\r\n");
        }
        gets = ascii(text);
        check(gets, BATCH, 0);
    }

    /** The set batches depend on the value size: built once per trial, on first use. */
    private void prepare(int valueSize) {
        if (preparedSize == valueSize) {
            return;
        }
        byte[][] keys = keys(BATCH);
        String value = "v".repeat(valueSize);
        StringBuilder setText = new StringBuilder();
        StringBuilder mixedText = new StringBuilder();
        for (int i = 0; i < BATCH; i++) {
            String key = new String(keys[i], StandardCharsets.US_ASCII);
            String set = "set " + key + " 0 0 " + valueSize + "\r\n" + value + "\r\n";
            setText.append(set);
            mixedText.append(i % 11 == 5 ? set : "get " + key + "\r\n");
        }
        release();
        sets = ascii(setText);
        mixed = ascii(mixedText);
        check(sets, 0, BATCH);
        check(mixed, BATCH - 3, 3);
        preparedSize = valueSize;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int gets() {
        return feed(gets);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int sets(ValueSize size) {
        prepare(size.valueSize);
        return feed(sets);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int mixed(ValueSize size) {
        prepare(size.valueSize);
        return feed(mixed);
    }

    private int feed(ByteBuf batch) {
        // a duplicate shares the bytes (no copy), has its own indices, and is released by the decoder
        pipeline.fireChannelRead(batch.retainedDuplicate());
        pipeline.fireChannelReadComplete();
        return sink.commands;
    }

    /** Fails the trial early if a batch does not decode to what it should. */
    private void check(ByteBuf batch, int retrievals, int storages) {
        sink.retrievals = 0;
        sink.storages = 0;
        feed(batch);
        if (sink.retrievals != retrievals || sink.storages != storages || batch.refCnt() != 1) {
            throw new IllegalStateException("batch decoded to " + sink.retrievals + " retrievals and "
                    + sink.storages + " storage commands, expected " + retrievals + " and " + storages);
        }
    }

    private static ByteBuf ascii(CharSequence text) {
        byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
        return ALLOC.directBuffer(bytes.length).writeBytes(bytes);
    }

    private void release() {
        if (sets != null) {
            sets.release();
            mixed.release();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        release();
        gets.release();
        if (channel.finish()) {
            throw new IllegalStateException("the decoder left messages behind");
        }
    }

    /** The end of the pipeline: counts and releases each decoded command. */
    private static final class Sink extends ChannelInboundHandlerAdapter {
        int commands;
        int retrievals;
        int storages;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            commands++;
            if (msg instanceof RetrievalCommand) {
                retrievals++;
            } else if (msg instanceof StorageCommand) {
                storages++;
            }
            ReferenceCountUtil.release(msg);
        }
    }
}
