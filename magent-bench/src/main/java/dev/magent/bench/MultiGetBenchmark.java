package dev.magent.bench;

import dev.magent.core.route.MultiGetPlan;
import dev.magent.hashing.Algorithm;
import dev.magent.hashing.Ring;
import dev.magent.hashing.Server;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import dev.magent.protocol.Verb;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Routing one {@value #KEYS}-key get over 3 mains and a backup, without the network: what the proxy
 * computes between decoding the client's command and encoding its reply.
 * <ol>
 *   <li>split: {@link MultiGetPlan#of} places every key on a main (ketama or modulo) and groups the
 *       positions per main; one sub-request (a {@link RetrievalCommand} of that main's keys) per group;</li>
 *   <li>collect: each main's answer, hits in request order with its misses left out, is placed at the
 *       positions ({@link MultiGetPlan#collect});</li>
 *   <li>with {@code missPercent} &gt; 0: the keys the mains missed are grouped again for the backup
 *       ({@link MultiGetPlan#group}) and its answer collected, as the proxy does when it turns to the backup;</li>
 *   <li>merge: {@link MultiGetPlan#merge} puts the hits back in the client's order as one reply, which is
 *       then released (the encoder's job, measured in {@link ReplyEncoderBenchmark}).</li>
 * </ol>
 * The servers' answers are prepared in advance (decoding them is not routing): lists of 100-byte pooled
 * values, retained per invocation because the merged reply is released.
 */
@State(Scope.Thread)
public class MultiGetBenchmark extends HotPathBenchmark {
    static final int KEYS = 100;
    static final int MAINS = 3;

    @Param({"KETAMA", "MODULO"})
    Algorithm algorithm;

    /** Keys the mains miss (every tenth key for 10), found on the backup instead. */
    @Param({"0", "10"})
    int missPercent;

    private Ring mains;
    private List<byte[]> keys;
    /** Per main, its answer: the hits among the keys it owns, in the client's order. */
    private List<List<Value>> mainAnswers;
    /** The backup's answer to the keys the mains missed. */
    private List<Value> backupAnswer;
    private final List<Value> allValues = new ArrayList<>();
    /** The sub-requests of the last invocation: kept, as the proxy hands them to connections. */
    private final RetrievalCommand[] sent = new RetrievalCommand[MAINS + 1];

    @Setup(Level.Trial)
    public void setUp() {
        List<Server> servers = List.of(Server.of("10.0.0.1", 11211), Server.of("10.0.0.2", 11211),
                Server.of("10.0.0.3", 11211));
        mains = Ring.of(algorithm, servers);
        keys = List.of(keys(KEYS));
        mainAnswers = new ArrayList<>();
        for (int s = 0; s < MAINS; s++) {
            mainAnswers.add(new ArrayList<>());
        }
        backupAnswer = new ArrayList<>();
        int missEvery = missPercent == 0 ? Integer.MAX_VALUE : 100 / missPercent;
        for (int i = 0; i < KEYS; i++) {
            Value v = new Value(keys.get(i), 0, data(100), Value.NO_CAS);
            allValues.add(v);
            if (i % missEvery == missEvery - 1) {
                backupAnswer.add(v);
            } else {
                mainAnswers.get(mains.indexFor(keys.get(i))).add(v);
            }
        }
        ValuesReply reply = route();
        if (reply.values().size() != KEYS || !inOrder(reply)) {
            throw new IllegalStateException("merged " + reply.values().size() + " values, expected " + KEYS);
        }
        reply.release();
        if (allValues.stream().anyMatch(v -> v.data().refCnt() != 1)) {
            throw new IllegalStateException("a value was retained or released once too often");
        }
    }

    @Benchmark
    public int multiGet() {
        ValuesReply reply = route();
        int hits = reply.values().size();
        reply.release();
        return hits;
    }

    private ValuesReply route() {
        MultiGetPlan plan = MultiGetPlan.of(mains, keys);
        Value[] results = new Value[KEYS];
        int[] owner = null;
        for (int g = 0; g < plan.groupCount(); g++) {
            int[] positions = plan.positions(g);
            sent[g] = subRequest(positions);
            List<Value> answer = answer(mainAnswers.get(plan.server(g)));
            int[] misses = MultiGetPlan.collect(keys, positions, answer, results);
            if (misses.length > 0) {
                if (owner == null) {
                    owner = new int[KEYS];
                    Arrays.fill(owner, -1);
                }
                for (int pos : misses) {
                    owner[pos] = 0; // one backup
                }
            }
        }
        if (owner != null) {
            MultiGetPlan backup = MultiGetPlan.group(owner, 1);
            for (int g = 0; g < backup.groupCount(); g++) {
                int[] positions = backup.positions(g);
                sent[MAINS + g] = subRequest(positions);
                MultiGetPlan.collect(keys, positions, answer(backupAnswer), results);
            }
        }
        return MultiGetPlan.merge(results);
    }

    /** The command sent to one server: its keys, in the client's order (as the proxy builds it). */
    private RetrievalCommand subRequest(int[] positions) {
        List<byte[]> subset = new ArrayList<>(positions.length);
        for (int pos : positions) {
            subset.add(keys.get(pos));
        }
        return new RetrievalCommand(Verb.GET, subset, 0);
    }

    /** A server's answer, retained: collecting it hands the values to the merged reply. */
    private static List<Value> answer(List<Value> values) {
        for (int i = 0; i < values.size(); i++) {
            values.get(i).data().retain();
        }
        return values;
    }

    private boolean inOrder(ValuesReply reply) {
        for (int i = 0; i < KEYS; i++) {
            if (reply.values().get(i).key() != keys.get(i)) {
                return false;
            }
        }
        return true;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Value v : allValues) {
            v.data().release();
        }
    }
}
