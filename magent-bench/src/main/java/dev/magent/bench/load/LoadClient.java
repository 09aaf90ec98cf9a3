package dev.magent.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop memcached text-protocol load generator, the one load.sh drives every target with.
 *
 * <p>Why not memaslap: its keys start with an 8-byte binary counter (every byte has 0x10 set, so most are
 * control characters), which memcached and twemproxy store but magent refuses by design
 * ({@code CLIENT_ERROR bad command line format}, see docs/protocol.md). This client sends what memaslap's
 * workload sends otherwise: printable keys of a fixed length, fixed-size values, a set:get proportion, gets
 * of one or several keys, each connection with one request outstanding at a time, or {@code --depth N}
 * requests pipelined on it (the next one sent as each reply completes, so that N stay in flight).
 *
 * <p>Every reply is checked against the request it answers (replies come back in request order on a
 * connection, so the oldest request outstanding is the one a reply line belongs to): a set must get
 * {@code STORED}; a get's {@code VALUE} lines must name the keys asked, in the order asked, with flags 0 and
 * exactly the value this client stores (length, bytes and the CRLF after them); then {@code END}. Anything
 * else is an error (a wrong value is also counted apart, as {@code bad_values}), and a key asked but not
 * returned is a miss. A pipeline deeper than one makes these checks the point: a proxy that answered a
 * request with another request's reply would pass a count of lines but not this.
 *
 * <p>Every key is set once before the warm-up, so gets hit ({@code --prefill 0} skips that when an earlier run
 * against the same servers did it). Latency is measured per request (a multi-get is
 * one request), from just before its write to the end of its own reply, for the requests completed inside
 * the measured window, and every latency is kept, so the percentiles are exact. With {@code --depth N} each
 * request carries its own send time, so a request's latency includes the time it waited behind the N - 1
 * before it, as a client that pipelines sees it.
 *
 * <pre>
 * java -cp magent-bench/target/benchmarks.jar dev.magent.bench.load.LoadClient --server 127.0.0.1:11211 \
 *     [--threads 2] [--connections 40] [--duration 10] [--warmup 2] [--key-size 32] [--value-size 100]
 *     [--keys 10000] [--gets-per-set 10] [--multiget 1] [--depth 1] [--prefill 1] [--proxy-pid PID]
 *     [--backend-pids PID,PID]
 * </pre>
 * With the pids it also reports the CPU time those processes used inside the measured window (clock ticks
 * of /proc/PID/stat) and the proxy's peak VmRSS; its own CPU time over the window it always reports
 * ({@code client_cpu_ticks}).
 * The last line of output is {@code RESULT key=value ...}, for scripts: rps is requests per second, kps keys
 * per second (a set is one key, a get of n keys is n, as memaslap counts its ops), latencies in microseconds.
 */
public final class LoadClient {
    private final String host;
    private final int port;
    private final int threads;
    private final int connections;
    private final int durationSeconds;
    private final int warmupSeconds;
    private final int valueSize;
    private final int getsPerSet;
    private final int multiget;
    /** Requests outstanding per connection: 1 waits for each reply before the next request. */
    private final int depth;
    private final byte[][] keys;
    private final byte[] value;
    /** What a hit's data block must be: the value this client stores, then CRLF (compared in one call). */
    private final ByteBuf expectedBlock;
    /** Processes whose CPU time (and, for the proxy, peak RSS) is read over the measured window; 0: none. */
    private final int proxyPid;
    /** Whether to set every key before the warm-up (off when an earlier run on the same servers did). */
    private final boolean prefill;
    private final int[] backendPids;

    private volatile boolean running = true;
    // package-private: LoadClientTest opens the window to check one connection's accounting
    volatile long measureFrom = Long.MAX_VALUE;
    volatile long measureUntil = Long.MAX_VALUE;
    private final AtomicInteger prefillNext = new AtomicInteger();
    private final AtomicLong errorsShown = new AtomicLong();

    LoadClient(String[] args) {
        String server = "127.0.0.1:11211";
        int t = 2;
        int c = 40;
        int d = 10;
        int w = 2;
        int ks = 32;
        int vs = 100;
        int n = 10_000;
        int g = 10;
        int m = 1;
        int dp = 1;
        int pp = 0;
        boolean pf = true;
        int[] bp = new int[0];
        for (int i = 0; i < args.length; i += 2) {
            String flag = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            String v = args[i + 1];
            switch (flag) {
                case "--server" -> server = v;
                case "--threads" -> t = Integer.parseInt(v);
                case "--connections" -> c = Integer.parseInt(v);
                case "--duration" -> d = Integer.parseInt(v);
                case "--warmup" -> w = Integer.parseInt(v);
                case "--key-size" -> ks = Integer.parseInt(v);
                case "--value-size" -> vs = Integer.parseInt(v);
                case "--keys" -> n = Integer.parseInt(v);
                case "--gets-per-set" -> g = Integer.parseInt(v);
                case "--multiget" -> m = Integer.parseInt(v);
                case "--depth" -> dp = Integer.parseInt(v);
                case "--proxy-pid" -> pp = Integer.parseInt(v);
                case "--prefill" -> pf = !v.equals("0") && !v.equals("false");
                case "--backend-pids" -> bp = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown flag " + flag);
            }
        }
        int colon = server.lastIndexOf(':');
        host = server.substring(0, colon);
        port = Integer.parseInt(server.substring(colon + 1));
        threads = t;
        connections = c;
        durationSeconds = d;
        warmupSeconds = w;
        valueSize = vs;
        getsPerSet = g;
        multiget = m;
        depth = dp;
        proxyPid = pp;
        prefill = pf;
        backendPids = bp;
        if (!prefill) {
            prefillNext.set(Integer.MAX_VALUE / 2);
        }
        if (ks < 12 || ks > 250 || n < m || c < 1 || t < 1 || d < 1 || dp < 1 || dp > 100_000) {
            throw new IllegalArgumentException("out of range: key size 12..250, keys >= multiget, connections,"
                    + " threads, duration >= 1, depth 1..100000");
        }
        keys = keys(n, ks);
        value = new byte[vs];
        for (int i = 0; i < vs; i++) {
            value[i] = (byte) ('a' + i % 26);
        }
        byte[] block = Arrays.copyOf(value, vs + 2);
        block[vs] = '\r';
        block[vs + 1] = '\n';
        expectedBlock = Unpooled.wrappedBuffer(block).asReadOnly();
    }

    /** n distinct printable keys of the given length. */
    static byte[][] keys(int n, int length) {
        SplittableRandom random = new SplittableRandom(7);
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        byte[][] keys = new byte[n][];
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder(length).append(String.format(Locale.ROOT, "%010d:", i));
            while (sb.length() < length) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            keys[i] = sb.toString().getBytes(StandardCharsets.US_ASCII);
        }
        return keys;
    }

    public static void main(String[] args) throws Exception {
        LoadClient client;
        try {
            client = new LoadClient(args);
        } catch (RuntimeException e) {
            System.err.println("LoadClient: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(client.run() ? 0 : 1);
    }

    boolean run() throws InterruptedException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, io);
        List<Connection> all = new ArrayList<>();
        CountDownLatch prefilled = new CountDownLatch(connections);
        try {
            Bootstrap bootstrap = new Bootstrap().group(group)
                    .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000);
            for (int i = 0; i < connections; i++) {
                Connection connection = new Connection(i, prefilled);
                all.add(connection);
                bootstrap.clone().handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(connection);
                    }
                }).connect(host, port).sync();
            }
            // every key set once (each connection takes the next unset key), so that gets hit
            if (!prefilled.await(60, TimeUnit.SECONDS)) {
                System.err.println("LoadClient: the keys were not all set within 60 s");
                return false;
            }
            for (Connection c : all) {
                c.startLoad();
            }
            long start = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
            measureFrom = start;
            measureUntil = start + TimeUnit.SECONDS.toNanos(durationSeconds);
            sleepUntil(measureFrom);
            long proxyTicks = -cpuTicks(proxyPid);
            // this client's own CPU: on a machine whose cores it shares with the proxy, it decides how much of
            // a difference between proxies shows in requests/s (docs/benchmarks.md, "Why two closed-loop clients")
            long clientTicks = -cpuTicks((int) ProcessHandle.current().pid());
            long backendTicks = 0;
            for (int pid : backendPids) {
                backendTicks -= cpuTicks(pid);
            }
            long peakRss = 0;
            while (System.nanoTime() < measureUntil) {
                peakRss = Math.max(peakRss, rssKib(proxyPid));
                sleepUntil(Math.min(measureUntil, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200)));
            }
            proxyTicks += cpuTicks(proxyPid);
            clientTicks += cpuTicks((int) ProcessHandle.current().pid());
            for (int pid : backendPids) {
                backendTicks += cpuTicks(pid);
            }
            running = false;
            Thread.sleep(200); // the requests in flight finish; they are outside the window anyway
            return report(all, proxyTicks, backendTicks, clientTicks, peakRss);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    /** utime + stime of a process in clock ticks, from /proc/PID/stat; 0 for pid 0 or when unreadable. */
    static long cpuTicks(int pid) {
        if (pid <= 0) {
            return 0;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // fields after the command name, which is in parentheses and may hold spaces
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of proc(5)
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** VmRSS of a process in KiB, from /proc/PID/status; 0 for pid 0 or when unreadable. */
    static long rssKib(int pid) {
        if (pid <= 0) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    private boolean report(List<Connection> all, long proxyTicks, long backendTicks, long clientTicks,
            long peakRss) {
        long requests = 0;
        long gets = 0;
        long keysAsked = 0;
        long hits = 0;
        long errors = 0;
        long badValues = 0;
        long closed = 0;
        int n = 0;
        for (Connection c : all) {
            n += c.latencyCount;
        }
        long[] latencies = new long[n];
        int at = 0;
        for (Connection c : all) {
            System.arraycopy(c.latencies, 0, latencies, at, c.latencyCount);
            at += c.latencyCount;
            requests += c.requests;
            gets += c.gets;
            keysAsked += c.keysAsked;
            hits += c.hits;
            errors += c.errors;
            badValues += c.badValues;
            closed += c.closedEarly ? 1 : 0;
        }
        Arrays.sort(latencies);
        double seconds = durationSeconds;
        double sum = 0;
        for (long l : latencies) {
            sum += l;
        }
        long misses = keysAsked - hits;
        String result = String.format(Locale.ROOT,
                "RESULT requests=%d seconds=%.1f rps=%.0f kps=%.0f p50=%.1f p90=%.1f p95=%.1f p99=%.1f p999=%.1f"
                        + " max=%.1f avg=%.1f errors=%d misses=%d closed=%d proxy_cpu_ticks=%d backend_cpu_ticks=%d"
                        + " proxy_rss_peak_kib=%d depth=%d bad_values=%d client_cpu_ticks=%d",
                requests, seconds, requests / seconds, (requests - gets + keysAsked) / seconds,
                us(latencies, 50), us(latencies, 90), us(latencies, 95), us(latencies, 99), us(latencies, 99.9),
                n == 0 ? 0 : latencies[n - 1] / 1000.0, n == 0 ? 0 : sum / n / 1000.0, errors, misses, closed,
                proxyTicks, backendTicks, peakRss, depth, badValues, clientTicks);
        System.out.printf(Locale.ROOT, "%s:%d  %d connections on %d threads, %d request(s) in flight on each,"
                        + " %d s after %d s warm-up; %d-byte keys, %d-byte values, %d gets per set,"
                        + " %d key(s) per get%n",
                host, port, connections, threads, depth, durationSeconds, warmupSeconds, keys[0].length,
                valueSize, getsPerSet, multiget);
        System.out.printf(Locale.ROOT, "requests/s %.0f   latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f"
                        + "  max %.0f   errors %d  misses %d  bad values %d%n", requests / seconds, us(latencies, 50),
                us(latencies, 90), us(latencies, 99), us(latencies, 99.9),
                n == 0 ? 0 : latencies[n - 1] / 1000.0, errors, misses, badValues);
        System.out.println(result);
        return errors == 0 && closed == 0 && requests > 0;
    }

    private static double us(long[] sorted, double percentile) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1000.0;
    }

    /**
     * One client connection: {@code depth} requests outstanding, the next sent as each reply completes. The
     * requests in flight are a ring, oldest first: replies come back in request order, so each reply line
     * belongs to the oldest one.
     */
    final class Connection extends ByteToMessageDecoder {
        private final SplittableRandom random;
        private final CountDownLatch prefilled;
        private boolean prefilling = true;
        private ChannelHandlerContext ctx;
        // the requests in flight, a ring of depth slots: a get's first key (-1 for a set) and its send time
        private final int[] firstKey = new int[depth];
        private final long[] sentAt = new long[depth];
        private int head;
        private int inFlight;
        /** Requests written since the last flush (depth > 1 flushes once per read, as a pipelining client). */
        private boolean unflushed;
        // reading the oldest request's reply: the data block still to skip, where it is checked from, the next
        // key of the request a VALUE may name, hits so far, and whether anything in it was wrong
        private int skip;
        private int blockAt;
        private boolean checkBlock;
        private int nextKey;
        private int hitsInReply;
        private boolean badReply;
        private boolean badValueInReply;
        // counted inside the measured window
        long requests;
        long gets;
        long keysAsked;
        long hits;
        long errors;
        long badValues;
        boolean closedEarly;
        long[] latencies = new long[1 << 14];
        int latencyCount;

        Connection(int id, CountDownLatch prefilled) {
            this.random = new SplittableRandom(1000 + id);
            this.prefilled = prefilled;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            sendNext();
            flushIfNeeded();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (running) {
                closedEarly = true;
                System.err.println("LoadClient: the server closed a connection");
                if (prefilling) {
                    prefilling = false;
                    prefilled.countDown();
                }
            }
            super.channelInactive(ctx);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
            super.channelReadComplete(ctx);
            flushIfNeeded();
        }

        private void flushIfNeeded() {
            if (unflushed) {
                unflushed = false;
                ctx.flush();
            }
        }

        /** Every key is set: the load begins (on this connection's loop; a connection already loaded sends nothing more). */
        void startLoad() {
            // ctx was set before this connection counted the latch down, and run() awaited the latch: visible
            ChannelHandlerContext c = ctx;
            if (c != null) {
                c.executor().execute(() -> {
                    if (!prefilling && c.channel().isActive()) {
                        sendNext();
                        flushIfNeeded();
                    }
                });
            }
        }

        /** Sends requests until depth are in flight: one at a time while setting the keys (prefill). */
        private void sendNext() {
            if (prefilling) {
                int k = prefillNext.getAndIncrement();
                if (k < keys.length) {
                    sendSet(keys[k]);
                    return;
                }
                prefilling = false;
                prefilled.countDown();
                if (prefilled.getCount() > 0) {
                    // other connections may still have a set in flight: a get sent now could read a key
                    // before its set lands and count an old value as wrong. The load starts for every
                    // connection at once, from run(), when the last one has set its keys
                    return;
                }
            }
            while (running && inFlight < depth) {
                if (random.nextInt(getsPerSet + 1) == 0) {
                    sendSet(keys[random.nextInt(keys.length)]);
                } else {
                    sendGet();
                }
            }
        }

        private void sendSet(byte[] key) {
            // set <key> 0 0 <bytes>\r\n<data>\r\n
            ByteBuf buf = ctx.alloc().ioBuffer(key.length + valueSize + 32);
            buf.writeBytes(SET).writeBytes(key).writeBytes(ZERO_ZERO);
            buf.writeCharSequence(Integer.toString(valueSize), StandardCharsets.US_ASCII);
            buf.writeBytes(CRLF).writeBytes(value).writeBytes(CRLF);
            send(buf, -1);
        }

        private void sendGet() {
            // get <key>*\r\n
            ByteBuf buf = ctx.alloc().ioBuffer(4 + multiget * (keys[0].length + 1) + 2);
            buf.writeBytes(GET);
            int first = random.nextInt(keys.length);
            for (int i = 0; i < multiget; i++) {
                buf.writeByte(' ').writeBytes(keys[keyOf(first, i)]);
            }
            buf.writeBytes(CRLF);
            send(buf, first);
        }

        /** The i-th key of a get whose first key is first: distinct keys, spread over the key space. */
        private int keyOf(int first, int i) {
            return (int) ((first + (long) i * 7919) % keys.length);
        }

        private void send(ByteBuf request, int first) {
            int slot = (head + inFlight) % depth;
            firstKey[slot] = first;
            sentAt[slot] = System.nanoTime();
            inFlight++;
            if (depth == 1) {
                ctx.writeAndFlush(request, ctx.voidPromise());
            } else {
                ctx.write(request, ctx.voidPromise());
                unflushed = true;
            }
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            while (true) {
                if (skip > 0) {
                    int n = Math.min(skip, in.readableBytes());
                    if (checkBlock && !ByteBufUtil.equals(in, in.readerIndex(), expectedBlock, blockAt, n)) {
                        checkBlock = false;
                        badValue(in, in.readerIndex(), in.readerIndex() + n, "a value that is not the one set");
                    }
                    blockAt += n;
                    in.skipBytes(n);
                    skip -= n;
                    if (skip > 0) {
                        return;
                    }
                }
                int start = in.readerIndex();
                int eol = in.indexOf(start, in.writerIndex(), (byte) '\n');
                if (eol < 0) {
                    return;
                }
                in.readerIndex(eol + 1);
                if (inFlight == 0) {
                    // a reply to nothing: count it against the request that comes next
                    badReply = true;
                    show(in, start, eol, "a reply with no request outstanding");
                    continue;
                }
                boolean isGet = firstKey[head] >= 0;
                if (isGet && startsWith(in, start, VALUE)) {
                    value(in, start, eol);
                    continue;
                }
                boolean ok = isGet ? startsWith(in, start, END) : startsWith(in, start, STORED);
                if (!ok) {
                    show(in, start, eol, "unexpected reply");
                }
                complete(ok && !badReply);
            }
        }

        /**
         * VALUE <key> <flags> <bytes>\r\n: the key must be the next one asked (or a later one: the keys in
         * between missed), the flags 0 and the length this client's value; the data block after it is then
         * compared with that value as it arrives.
         */
        private void value(ByteBuf in, int start, int eol) {
            int end = eol - 1; // the CR
            int keyStart = start + VALUE.length;
            int keyEnd = in.indexOf(keyStart, end, (byte) ' ');
            // the length is the last field: skipped whatever the rest says, so that the stream stays in step
            int digits = end;
            while (digits > start && in.getByte(digits - 1) != ' ') {
                digits--;
            }
            int bytes = 0;
            for (int i = digits; i < end; i++) {
                bytes = bytes * 10 + in.getByte(i) - '0';
            }
            skip = bytes + 2;
            blockAt = 0;
            checkBlock = false;
            hitsInReply++;
            int first = firstKey[head];
            int found = -1;
            if (keyEnd > keyStart) {
                for (int i = nextKey; i < multiget && found < 0; i++) {
                    if (sameKey(in, keyStart, keyEnd, keys[keyOf(first, i)])) {
                        found = i;
                    }
                }
            }
            if (found < 0) {
                badValue(in, start, end, "a key not asked, or out of order");
                return;
            }
            nextKey = found + 1;
            if (keyEnd + 3 != digits || in.getByte(keyEnd + 1) != '0' || bytes != valueSize) {
                badValue(in, start, end, "flags or length not the ones set");
                return;
            }
            checkBlock = true;
        }

        private void badValue(ByteBuf in, int from, int to, String what) {
            badValueInReply = true;
            badReply = true;
            show(in, from, to, what);
        }

        private void show(ByteBuf in, int from, int to, String what) {
            if (errorsShown.incrementAndGet() <= 5) {
                System.err.println("LoadClient: " + what + ": "
                        + in.toString(from, Math.min(to - from, 200), StandardCharsets.ISO_8859_1).trim());
            }
        }

        private boolean inWindow(long now) {
            return now >= measureFrom && now < measureUntil;
        }

        private static boolean sameKey(ByteBuf in, int from, int to, byte[] key) {
            if (to - from != key.length) {
                return false;
            }
            for (int i = 0; i < key.length; i++) {
                if (in.getByte(from + i) != key[i]) {
                    return false;
                }
            }
            return true;
        }

        /** The oldest request's reply is complete: count it, free its slot, send the next. */
        private void complete(boolean ok) {
            long now = System.nanoTime();
            int first = firstKey[head];
            long sent = sentAt[head];
            head = (head + 1) % depth;
            inFlight--;
            if (!prefilling && inWindow(now)) {
                requests++;
                if (first >= 0) {
                    gets++;
                    keysAsked += multiget;
                    hits += hitsInReply;
                }
                if (!ok) {
                    errors++;
                }
                if (badValueInReply) {
                    badValues++;
                }
                if (latencyCount == latencies.length) {
                    latencies = Arrays.copyOf(latencies, latencyCount * 2);
                }
                latencies[latencyCount++] = now - sent;
            }
            hitsInReply = 0;
            nextKey = 0;
            badReply = false;
            badValueInReply = false;
            sendNext();
        }

        private static boolean startsWith(ByteBuf in, int at, byte[] prefix) {
            if (in.writerIndex() - at < prefix.length) {
                return false;
            }
            for (int i = 0; i < prefix.length; i++) {
                if (in.getByte(at + i) != prefix[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    private static final byte[] SET = "set ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] GET = "get".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ZERO_ZERO = " 0 0 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = "\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VALUE = "VALUE ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "END\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STORED = "STORED\r\n".getBytes(StandardCharsets.US_ASCII);
}
