package dev.magent.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
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
 * of one or several keys, each connection with one request outstanding at a time.
 *
 * <p>Every key is set once before the warm-up, so gets hit ({@code --prefill 0} skips that when an earlier run
 * against the same servers did it). Latency is measured per request (a multi-get is
 * one request), from just before the write to the end of the reply, for the requests completed inside the
 * measured window, and every latency is kept, so the percentiles are exact.
 *
 * <pre>
 * java -cp magent-bench/target/benchmarks.jar dev.magent.bench.load.LoadClient --server 127.0.0.1:11211 \
 *     [--threads 2] [--connections 40] [--duration 10] [--warmup 2] [--key-size 32] [--value-size 100]
 *     [--keys 10000] [--gets-per-set 10] [--multiget 1] [--prefill 1] [--proxy-pid PID] [--backend-pids PID,PID]
 * </pre>
 * With the pids it also reports the CPU time those processes used inside the measured window (clock ticks
 * of /proc/PID/stat) and the proxy's peak VmRSS.
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
    private final byte[][] keys;
    private final byte[] value;
    /** Processes whose CPU time (and, for the proxy, peak RSS) is read over the measured window; 0: none. */
    private final int proxyPid;
    /** Whether to set every key before the warm-up (off when an earlier run on the same servers did). */
    private final boolean prefill;
    private final int[] backendPids;

    private volatile boolean running = true;
    private volatile long measureFrom = Long.MAX_VALUE;
    private volatile long measureUntil = Long.MAX_VALUE;
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
        proxyPid = pp;
        prefill = pf;
        backendPids = bp;
        if (!prefill) {
            prefillNext.set(Integer.MAX_VALUE / 2);
        }
        if (ks < 12 || ks > 250 || n < m || c < 1 || t < 1 || d < 1) {
            throw new IllegalArgumentException("out of range: key size 12..250, keys >= multiget, connections,"
                    + " threads, duration >= 1");
        }
        keys = keys(n, ks);
        value = new byte[vs];
        for (int i = 0; i < vs; i++) {
            value[i] = (byte) ('a' + i % 26);
        }
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
            long start = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
            measureFrom = start;
            measureUntil = start + TimeUnit.SECONDS.toNanos(durationSeconds);
            sleepUntil(measureFrom);
            long proxyTicks = -cpuTicks(proxyPid);
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
            for (int pid : backendPids) {
                backendTicks += cpuTicks(pid);
            }
            running = false;
            Thread.sleep(200); // the requests in flight finish; they are outside the window anyway
            return report(all, proxyTicks, backendTicks, peakRss);
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

    private boolean report(List<Connection> all, long proxyTicks, long backendTicks, long peakRss) {
        long requests = 0;
        long gets = 0;
        long keysAsked = 0;
        long hits = 0;
        long errors = 0;
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
                        + " proxy_rss_peak_kib=%d",
                requests, seconds, requests / seconds, (requests - gets + keysAsked) / seconds,
                us(latencies, 50), us(latencies, 90), us(latencies, 95), us(latencies, 99), us(latencies, 99.9),
                n == 0 ? 0 : latencies[n - 1] / 1000.0, n == 0 ? 0 : sum / n / 1000.0, errors, misses, closed,
                proxyTicks, backendTicks, peakRss);
        System.out.printf(Locale.ROOT, "%s:%d  %d connections on %d threads, %d s after %d s warm-up;"
                        + " %d-byte keys, %d-byte values, %d gets per set, %d key(s) per get%n",
                host, port, connections, threads, durationSeconds, warmupSeconds, keys[0].length, valueSize,
                getsPerSet, multiget);
        System.out.printf(Locale.ROOT, "requests/s %.0f   latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f"
                        + "  max %.0f   errors %d  misses %d%n", requests / seconds, us(latencies, 50),
                us(latencies, 90), us(latencies, 99), us(latencies, 99.9),
                n == 0 ? 0 : latencies[n - 1] / 1000.0, errors, misses);
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

    /** One client connection: one request outstanding, the next sent when its reply is complete. */
    private final class Connection extends ByteToMessageDecoder {
        private final SplittableRandom random;
        private final CountDownLatch prefilled;
        private boolean prefilling = true;
        private ChannelHandlerContext ctx;
        // the request outstanding
        private boolean isGet;
        private int keysInRequest;
        private long sentAt;
        // reading a get's reply: the data block still to skip, and hits so far
        private int skip;
        private int hitsInReply;
        // counted inside the measured window
        long requests;
        long gets;
        long keysAsked;
        long hits;
        long errors;
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

        private void sendNext() {
            if (prefilling) {
                int k = prefillNext.getAndIncrement();
                if (k < keys.length) {
                    sendSet(keys[k]);
                    return;
                }
                prefilling = false;
                prefilled.countDown();
            }
            if (!running) {
                return;
            }
            if (random.nextInt(getsPerSet + 1) == 0) {
                sendSet(keys[random.nextInt(keys.length)]);
            } else {
                sendGet();
            }
        }

        private void sendSet(byte[] key) {
            // set <key> 0 0 <bytes>\r\n<data>\r\n
            ByteBuf buf = ctx.alloc().ioBuffer(key.length + valueSize + 32);
            buf.writeBytes(SET).writeBytes(key).writeBytes(ZERO_ZERO);
            buf.writeCharSequence(Integer.toString(valueSize), StandardCharsets.US_ASCII);
            buf.writeBytes(CRLF).writeBytes(value).writeBytes(CRLF);
            isGet = false;
            keysInRequest = 1;
            send(buf);
        }

        private void sendGet() {
            // get <key>*\r\n
            ByteBuf buf = ctx.alloc().ioBuffer(4 + multiget * (keys[0].length + 1) + 2);
            buf.writeBytes(GET);
            int first = random.nextInt(keys.length);
            for (int i = 0; i < multiget; i++) {
                buf.writeByte(' ').writeBytes(keys[(first + i * 7919) % keys.length]); // distinct keys
            }
            buf.writeBytes(CRLF);
            isGet = true;
            keysInRequest = multiget;
            hitsInReply = 0;
            send(buf);
        }

        private void send(ByteBuf request) {
            sentAt = System.nanoTime();
            ctx.writeAndFlush(request, ctx.voidPromise());
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            while (true) {
                if (skip > 0) {
                    int n = Math.min(skip, in.readableBytes());
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
                if (isGet && startsWith(in, start, VALUE)) {
                    // VALUE <key> <flags> <bytes>\r\n: skip the data block and its CRLF
                    int end = eol - 1;
                    int digits = end;
                    while (digits > start && in.getByte(digits - 1) != ' ') {
                        digits--;
                    }
                    int bytes = 0;
                    for (int i = digits; i < end; i++) {
                        bytes = bytes * 10 + in.getByte(i) - '0';
                    }
                    skip = bytes + 2;
                    hitsInReply++;
                    continue;
                }
                boolean ok = isGet ? startsWith(in, start, END) : startsWith(in, start, STORED);
                complete(ok, in, start, eol);
            }
        }

        private void complete(boolean ok, ByteBuf in, int lineStart, int eol) {
            long now = System.nanoTime();
            if (!prefilling && now >= measureFrom && now < measureUntil) {
                requests++;
                if (isGet) {
                    gets++;
                    keysAsked += keysInRequest;
                    hits += hitsInReply;
                }
                if (!ok) {
                    errors++;
                    if (errorsShown.incrementAndGet() <= 5) {
                        System.err.println("LoadClient: unexpected reply: "
                                + in.toString(lineStart, eol - lineStart, StandardCharsets.ISO_8859_1).trim());
                    }
                }
                if (latencyCount == latencies.length) {
                    latencies = Arrays.copyOf(latencies, latencyCount * 2);
                }
                latencies[latencyCount++] = now - sentAt;
            }
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
