package dev.magent.bench;

import dev.magent.core.ProxyConfig;
import dev.magent.core.ProxyStats;
import dev.magent.core.Role;
import dev.magent.core.ServerAddress;
import dev.magent.core.backend.Backend;
import dev.magent.core.backend.Cluster;
import dev.magent.core.backend.Completion;
import dev.magent.core.route.Router;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Routing one command through the router without the network: what the proxy computes and allocates
 * between the client's decoded command and the reply handed back, with backends that answer at once
 * (through the send contract, {@link Backend}). In this package because the router is package-private;
 * the shared settings repeat {@code dev.magent.bench.HotPathBenchmark}'s.
 *
 * <ul>
 *   <li>{@code get}: a one-key get the main answers with a hit;</li>
 *   <li>{@code getMissRepaired}: a one-key get the main misses: {@code mg} on the backup, {@code add} on the main;</li>
 *   <li>{@code set}: a 100-byte set replicated to the main and every backup;</li>
 *   <li>{@code delete}: a replicated delete;</li>
 *   <li>{@code multiGet}: a 10-key get over the mains, all hits.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms128m", "-Xmx128m", "-XX:+UseSerialGC", "-Dio.netty.allocator.type=pooled",
    "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class RouterBenchmark {
    /** Backup pools behind the two mains (1: the classic main + backup; 2: three copies of every key). */
    @Param({"1", "2"})
    int backupPools;

    private Router router;
    private ByteBuf value;
    private byte[] hitKey;
    private byte[] missKey;
    private List<byte[]> tenKeys;
    private final Completion sink = (reply, failure) -> ReferenceCountUtil.release(reply);

    @Setup(Level.Trial)
    public void setUp() {
        value = PooledByteBufAllocator.DEFAULT.directBuffer(100);
        for (int i = 0; i < 100; i++) {
            value.writeByte('a' + i % 26);
        }
        List<ServerAddress> mains = List.of(new ServerAddress("10.0.0.1", 11211), new ServerAddress("10.0.0.2", 11211));
        List<List<ServerAddress>> pools = new ArrayList<>();
        for (int p = 1; p <= backupPools; p++) {
            pools.add(List.of(new ServerAddress("10.0." + p + ".1", 11211)));
        }
        ProxyConfig config = ProxyConfig.builder().mains(mains).backupPools(pools).build();
        Cluster cluster = new Cluster(config);
        hitKey = "k0000001:abcdefghijklmnopqrstuvw".getBytes(StandardCharsets.US_ASCII);
        missKey = "miss:abcdefghijklmnopqrstuvwxyz0".getBytes(StandardCharsets.US_ASCII);
        tenKeys = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            tenKeys.add(String.format("k%07d:abcdefghijklmnopqrstuvw", i).getBytes(StandardCharsets.US_ASCII));
        }
        Backend[] backends = new Backend[cluster.size()];
        for (int i = 0; i < backends.length; i++) {
            backends[i] = new Immediate(cluster.server(i).role() == Role.MAIN);
        }
        router = new Router(cluster, null, server -> backends[server.id()], new ProxyStats(), true);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        value.release();
    }

    @Benchmark
    public void get() {
        router.route(new RetrievalCommand(Verb.GET, List.of(hitKey), 0), sink);
    }

    @Benchmark
    public void getMissRepaired() {
        router.route(new RetrievalCommand(Verb.GET, List.of(missKey), 0), sink);
    }

    @Benchmark
    public void set() {
        router.route(new StorageCommand(Verb.SET, hitKey, 0, 0, 0, value.retainedDuplicate(), false), sink);
    }

    @Benchmark
    public void delete() {
        router.route(new DeleteCommand(hitKey, false), sink);
    }

    @Benchmark
    public void multiGet() {
        router.route(new RetrievalCommand(Verb.GET, tenKeys, 0), sink);
    }

    /**
     * A server that answers every command at once, as its connection would: hits for retrievals (a miss
     * on a main for keys starting with "miss"), STORED/DELETED for writes, a meta hit for {@code mg}.
     */
    private final class Immediate implements Backend {
        private final boolean main;

        Immediate(boolean main) {
            this.main = main;
        }

        @Override
        public void send(Command command, Completion completion) {
            Reply reply;
            if (command instanceof RetrievalCommand r) {
                if (main && r.keys().get(0)[0] == 'm') {
                    reply = ValuesReply.EMPTY;
                } else if (r.keys().size() == 1) {
                    reply = new ValuesReply(List.of(new Value(r.keys().get(0), 0, value.retainedDuplicate(), Value.NO_CAS)));
                } else {
                    List<Value> values = new ArrayList<>(r.keys().size());
                    for (byte[] k : r.keys()) {
                        values.add(new Value(k, 0, value.retainedDuplicate(), Value.NO_CAS));
                    }
                    reply = new ValuesReply(values);
                }
            } else if (command instanceof MetaGetCommand) {
                reply = new MetaReply("VA", List.of("f0", "t-1"), value.retainedDuplicate());
            } else if (command instanceof DeleteCommand) {
                reply = StatusReply.DELETED;
            } else {
                reply = StatusReply.STORED;
            }
            ReferenceCountUtil.release(command);
            completion.accept(reply, null);
        }
    }
}
