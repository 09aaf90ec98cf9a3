package dev.magent.core;

import static dev.magent.core.ProxyFixture.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.magent.protocol.testing.LeakGuard;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A bounded, reproducible fuzz run against a proxy over real memcached (docs/reliability.md,
 * "ProxyFuzzIT"): mutations of valid commands sent in pipelined batches over real connections. The proxy
 * must stay up, answer only with memcached's reply lines, keep a well-behaved client's data intact,
 * release every buffer, and keep its heap bounded.
 */
class ProxyFuzzIT {
    private static final long SEED = 0x6d6167656e74L; // "magent"
    private static final int MIN_REQUESTS = 100_000;
    private static final int WORKERS = 2;
    private static final int BATCH = 200;
    /** A connection with no reply byte for this long while a sentinel is due is stuck in a data block. */
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long MAX_RUN_NANOS = TimeUnit.SECONDS.toNanos(90);

    /** Every reply line memcached's text and meta protocols have (CRLF stripped); VALUE and VA lines are checked apart. */
    private static final Pattern REPLY_LINE = Pattern.compile(
            "END|STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|TOUCHED|OK|RESET|ERROR( [^\\r\\n]+)?"
                    + "|CLIENT_ERROR [^\\r\\n]*|SERVER_ERROR [^\\r\\n]*|VERSION [^\\r\\n]+|STAT [^ \\r\\n]+ [^\\r\\n]*"
                    + "|[0-9]{1,20}"
                    // memcached's answers to its admin commands (stats detail dump, slabs, lru_crawler, ...)
                    + "|PREFIX [^\\r\\n]+|ERROR: shutdown not enabled|Error TLS not enabled"
                    + "|(BUSY|BADCLASS|NOSPARE|SAME|NOTSTARTED|MEMLIMIT_TOO_SMALL|MEMLIMIT_ADJUST_FAILED) [^\\r\\n]+"
                    // meta replies: a mutated request may well be a meta command
                    // (a returned key, k, may hold a CR as a key may)
                    + "|(HD|EN|NF|NS|EX|MN)( [^\\n]+)?|ME [^\\n]+");
    private static final Pattern VA_LINE = Pattern.compile("VA ([0-9]{1,10})( [^\\n]+)?");
    /** A key is any bytes but space, LF and NUL, as memcached takes it; a CR inside one is a key byte. */
    private static final Pattern VALUE_LINE = Pattern.compile(
            "VALUE ([^ \\n\\x00]{1,250}) ([0-9]{1,10}) ([0-9]{1,10})( [0-9]{1,20})?");

    private ProxyFixture cluster;
    private MagentProxy proxy;
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final Map<String, LongAdder> replyKinds = new ConcurrentHashMap<>();
    private final AtomicLong requestsSent = new AtomicLong();
    private final AtomicLong connectionsOpened = new AtomicLong();
    private final AtomicLong closedByProxy = new AtomicLong();
    private final AtomicLong abandonedStuck = new AtomicLong();
    private final AtomicBoolean fuzzing = new AtomicBoolean(true);
    /** Commands the well-behaved client sent, to tell the fuzzers' share of the proxy's counters. */
    private final AtomicLong goodCommands = new AtomicLong();

    @BeforeEach
    void start() throws Exception {
        cluster = ProxyFixture.start(2, 1);
        proxy = cluster.proxy();
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    @Test
    void malformedAndMutatedRequestsNeverHurtTheProxyOrAWellBehavedClient() throws Exception {
        {
            long heapBefore = ClusterObserver.usedHeapAfterGc();
            long directBefore = ClusterObserver.nettyDirectMemory();
            long t0 = System.nanoTime();

            AtomicLong goodOps = new AtomicLong();
            Thread good = new Thread(() -> wellBehavedClient(goodOps), "well-behaved");
            good.start();
            Thread[] workers = new Thread[WORKERS];
            for (int i = 0; i < WORKERS; i++) {
                long seed = SEED + i;
                workers[i] = new Thread(() -> fuzz(new Random(seed), t0), "fuzz-" + i);
                workers[i].start();
            }
            for (Thread w : workers) {
                w.join(TimeUnit.NANOSECONDS.toMillis(MAX_RUN_NANOS) + 30_000);
                assertTrue(!w.isAlive(), "a fuzz worker hung");
            }
            fuzzing.set(false);
            good.join(30_000);
            double seconds = (System.nanoTime() - t0) / 1e9;

            // the proxy is up and answers a fresh client; the backends are alive
            try (TextClient c = client(proxy)) {
                assertTrue(c.call("version\r\n").startsWith("VERSION "));
                assertEquals("STORED\r\n", c.set("after-fuzz", "ok"));
                assertEquals("ok", c.get("after-fuzz"));
            }
            for (MemcachedProcess m : cluster.mains) {
                assertTrue(m.isAlive());
            }
            long heapAfter = ClusterObserver.usedHeapAfterGc();
            long directAfter = ClusterObserver.nettyDirectMemory();
            // leak reports come from allocations after a GC found a leaked buffer (LeakGuard also checks
            // after the class; taking them here puts the count in the measurement)
            LeakGuard.provokeDetection();
            List<String> leaks = LeakGuard.takeReports();

            Map<String, Long> kinds = new TreeMap<>();
            replyKinds.forEach((k, v) -> kinds.put(k, v.sum()));
            long decoded = fuzzDecoded();
            System.out.printf("MEASURED: fuzz: %d malformed or mutated requests sent, %d decoded by the proxy (commands "
                            + "and protocol errors; the rest were data blocks or discarded after a close), in %.1f s over %d connections "
                            + "(%d closed by the proxy, %d abandoned mid data block), seed %d; reply lines %s; "
                            + "well-behaved client: %d operations, all intact; proxy protocol_errors %d; used heap "
                            + "after GC %d -> %d MiB, Netty direct memory %d -> %d MiB; leak reports %d%n",
                    requestsSent.get(), decoded, seconds, connectionsOpened.get(), closedByProxy.get(), abandonedStuck.get(),
                    SEED, kinds, goodOps.get(), proxy.stats().protocolErrors(), heapBefore >> 20, heapAfter >> 20,
                    directBefore >> 20, directAfter >> 20, leaks.size());
            if (!violations.isEmpty()) {
                fail(violations.size() + " violations:\n" + String.join("\n", violations.subList(0,
                        Math.min(20, violations.size()))));
            }
            assertTrue(requestsSent.get() >= MIN_REQUESTS, "only " + requestsSent.get() + " requests in the time limit");
            assertTrue(decoded >= MIN_REQUESTS, "only " + decoded + " requests decoded in the time limit");
            assertTrue(goodOps.get() > 1_000, "the well-behaved client made progress: " + goodOps.get());
            assertTrue(heapAfter - heapBefore < 64L << 20, "heap grew by " + ((heapAfter - heapBefore) >> 20) + " MiB");
            assertTrue(directAfter - directBefore < 128L << 20,
                    "direct memory grew by " + ((directAfter - directBefore) >> 20) + " MiB");
            assertTrue(leaks.isEmpty(), leaks.size() + " leaked buffers, e.g. " + leaks.stream().limit(3).toList());
        }
    }

    // ---- the well-behaved client ---------------------------------------------------------------------

    private void wellBehavedClient(AtomicLong ops) {
        String[] model = new String[50];
        try (TextClient c = client(proxy)) {
            for (long it = 0; it < 5_000_000 && fuzzing.get() && violations.size() < 20; it++) {
                int i = (int) (it % model.length);
                String key = "GOOD_" + i;
                String v = "good-" + it + "-" + "y".repeat((int) (it % 30));
                String r = c.set(key, v);
                if (!r.equals("STORED\r\n")) {
                    violations.add("well-behaved set " + key + ": " + r);
                    continue;
                }
                model[i] = v;
                goodCommands.addAndGet(2);
                String got = c.get(key);
                if (!v.equals(got)) {
                    violations.add("well-behaved get " + key + ": " + got + ", expected " + v);
                }
                if (it % 25 == 0) {
                    StringBuilder req = new StringBuilder("get");
                    StringBuilder want = new StringBuilder();
                    for (int k = 0; k < model.length; k++) {
                        req.append(" GOOD_").append(k);
                        if (model[k] != null) {
                            want.append("VALUE GOOD_").append(k).append(" 0 ").append(model[k].length()).append("\r\n")
                                    .append(model[k]).append("\r\n");
                        }
                    }
                    goodCommands.incrementAndGet();
                    String multi = c.call(req.append("\r\n").toString());
                    if (!multi.equals(want.append("END\r\n").toString())) {
                        violations.add("well-behaved multi-get differs: " + multi.substring(0, Math.min(300, multi.length())));
                    }
                }
                ops.addAndGet(2);
            }
        } catch (IOException e) {
            violations.add("well-behaved client failed: " + e);
        }
    }

    // ---- fuzzing ---------------------------------------------------------------------------------------

    /** One fuzz connection's reply reader: checks every line, counts VERSION sentinels. */
    private final class ReplyChecker extends Thread {
        private final InputStream in;
        private final AtomicLong versions = new AtomicLong();
        private volatile long lastByteNanos = System.nanoTime();
        private volatile boolean ended;
        private volatile String lastBatch = "";

        ReplyChecker(InputStream in, String name) {
            super(name);
            this.in = in;
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                while (true) {
                    String line = readLine();
                    if (line == null) {
                        return;
                    }
                    String kind = line.contains(" ") ? line.substring(0, line.indexOf(' ')) : line;
                    if (kind.chars().allMatch(Character::isDigit) && !kind.isEmpty()) {
                        kind = "<number>";
                    }
                    if (line.startsWith("VALUE ")) {
                        var m = VALUE_LINE.matcher(line);
                        if (!m.matches() || Long.parseLong(m.group(2)) > 0xFFFFFFFFL) {
                            violation("not a VALUE line: " + printable(line));
                            return;
                        }
                        long len = Long.parseLong(m.group(3));
                        byte[] data = in.readNBytes((int) len + 2);
                        lastByteNanos = System.nanoTime();
                        if (data.length != len + 2 || data[(int) len] != '\r' || data[(int) len + 1] != '\n') {
                            violation("VALUE data block not " + len + " bytes + CRLF after " + printable(line));
                            return;
                        }
                    } else if (line.startsWith("VA ")) {
                        var m = VA_LINE.matcher(line);
                        if (!m.matches()) {
                            violation("not a VA line: " + printable(line));
                            return;
                        }
                        long len = Long.parseLong(m.group(1));
                        byte[] data = in.readNBytes((int) len + 2);
                        lastByteNanos = System.nanoTime();
                        if (data.length != len + 2 || data[(int) len] != '\r' || data[(int) len + 1] != '\n') {
                            violation("VA data block not " + len + " bytes + CRLF after " + printable(line));
                            return;
                        }
                    } else if (!REPLY_LINE.matcher(line).matches()) {
                        violation("not a memcached reply line: " + printable(line));
                        return;
                    }
                    if (kind.equals("VERSION")) {
                        versions.incrementAndGet();
                    }
                    replyKinds.computeIfAbsent(kind.length() > 20 ? kind.substring(0, 20) : kind,
                            k -> new LongAdder()).increment();
                }
            } catch (IOException e) {
                // the socket was closed by the worker or reset by the proxy
            } finally {
                ended = true;
            }
        }

        private void violation(String what) {
            violations.add(what + "\n  after batch: " + lastBatch);
        }

        /** A line without CRLF; a bare LF inside a reply line is itself a violation (reported by the pattern). */
        private String readLine() throws IOException {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int prev = -1;
            while (true) {
                int b = in.read();
                if (b < 0) {
                    if (buf.size() > 0) {
                        violation("connection closed mid-line: " + printable(buf.toString(StandardCharsets.ISO_8859_1)));
                    }
                    return null;
                }
                lastByteNanos = System.nanoTime();
                if (prev == '\r' && b == '\n') {
                    byte[] bytes = buf.toByteArray();
                    return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
                }
                if (buf.size() > 64 * 1024) {
                    violation("a reply line longer than 64 KiB: " + printable(buf.toString(StandardCharsets.ISO_8859_1)));
                    return null;
                }
                buf.write(b);
                prev = b;
            }
        }
    }

    /** Requests from the fuzzers the proxy decoded: commands plus protocol errors, less the good client's. */
    private long fuzzDecoded() {
        long n = proxy.stats().protocolErrors();
        for (dev.magent.protocol.Verb v : dev.magent.protocol.Verb.values()) {
            n += proxy.stats().commands(v);
        }
        return n - goodCommands.get();
    }

    private void fuzz(Random rnd, long t0) {
        Socket socket = null;
        ReplyChecker checker = null;
        long sentinels = 0;
        while ((requestsSent.get() < MIN_REQUESTS || fuzzDecoded() < MIN_REQUESTS) && System.nanoTime() - t0 < MAX_RUN_NANOS
                && violations.size() < 20) {
            try {
                if (socket == null) {
                    socket = new Socket();
                    socket.connect(new InetSocketAddress("127.0.0.1", ProxyFixture.port(proxy)), 5000);
                    socket.setTcpNoDelay(true);
                    connectionsOpened.incrementAndGet();
                    checker = new ReplyChecker(new BufferedInputStream(socket.getInputStream(), 65536),
                            Thread.currentThread().getName() + "-replies");
                    checker.start();
                    sentinels = 0;
                }
                ByteArrayOutputStream batch = new ByteArrayOutputStream();
                for (int i = 0; i < BATCH; i++) {
                    batch.writeBytes(mutate(rnd, validRequest(rnd)));
                }
                // the sentinel: a VERSION reply tells the batch was consumed (unless it ended up in a data block)
                batch.writeBytes("\r\nversion\r\n".getBytes(StandardCharsets.US_ASCII));
                byte[] bytes = batch.toByteArray();
                checker.lastBatch = printable(new String(bytes, 0, Math.min(bytes.length, 600), StandardCharsets.ISO_8859_1));
                OutputStream out = socket.getOutputStream();
                long sentAt = System.nanoTime();
                out.write(bytes);
                out.flush();
                requestsSent.addAndGet(BATCH);
                sentinels++;
                boolean reconnect = false;
                while (checker.versions.get() < sentinels) {
                    if (checker.ended) {
                        closedByProxy.incrementAndGet();
                        reconnect = true;
                        break;
                    }
                    long now = System.nanoTime();
                    if (now - checker.lastByteNanos > QUIET_NANOS && now - sentAt > QUIET_NANOS) {
                        abandonedStuck.incrementAndGet(); // e.g. a declared length of 2000000000 to swallow
                        reconnect = true;
                        break;
                    }
                    LockSupport.parkNanos(200_000);
                }
                // a VERSION from a mutated request can also count: resynchronise the expectation
                sentinels = Math.max(sentinels, checker.versions.get());
                if (reconnect) {
                    socket.close();
                    checker.join(5_000);
                    socket = null;
                }
            } catch (IOException e) {
                // the proxy closed the connection while we wrote (e.g. after a line too long): reconnect
                closedByProxy.incrementAndGet();
                try {
                    if (socket != null) {
                        socket.close();
                    }
                } catch (IOException ignored) {
                    // already broken
                }
                if (e instanceof java.net.ConnectException) {
                    violations.add("the proxy refuses connections: " + e);
                }
                socket = null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        try {
            if (socket != null) {
                socket.close();
            }
        } catch (IOException ignored) {
            // done
        }
    }

    private static final String[] VERBS_UNKNOWN = {"foo", "GET", "Set", "sett", "gett", "mget", "getx", "deletee",
        "stats_", "flush", "\u00ff\u00fe", "get\u0000", "m", "ms", "mn", "lru_crawler", "shutdown", "slabs", "watch"};
    private static final String[] HUGE = {"4294967295", "4294967296", "18446744073709551615", "18446744073709551616",
        "99999999999999999999999", "-1", "-2147483648", "2147483648", "9223372036854775807", "-0", "+5", "0x10", "1e3",
        "00000000000000000001", "2147483647"};
    /** Rare: declared lengths that make a server wait for (or swallow) a big data block. */
    private static final String[] SWALLOWED = {"2000000000", "1048577", "500000"};
    private static final String[] INSERTS = {"\r", "\n", " ", "\u0000", "\t", "\r\n", "  ", "\u007f", "\u00ff"};

    private static String key(Random rnd) {
        return "fz" + rnd.nextInt(64);
    }

    /** A valid command, as a client would send it (never flush_all: it would hit the well-behaved client). */
    private static String validRequest(Random rnd) {
        String k = key(rnd);
        String data = "d".repeat(rnd.nextInt(20)) + rnd.nextInt(1000);
        int f = rnd.nextInt(3) == 0 ? rnd.nextInt(65536) : 0;
        int e = rnd.nextInt(4) == 0 ? rnd.nextInt(1000) : 0;
        String noreply = rnd.nextInt(6) == 0 ? " noreply" : "";
        return switch (rnd.nextInt(20)) {
            case 0 -> "get " + k + "\r\n";
            case 1 -> "get " + k + " " + key(rnd) + " " + key(rnd) + "\r\n";
            case 2 -> "gets " + k + " " + key(rnd) + "\r\n";
            case 3 -> "gat " + e + " " + k + "\r\n";
            case 4 -> "gats " + e + " " + k + " " + key(rnd) + "\r\n";
            case 5, 6 -> "set " + k + " " + f + " " + e + " " + data.length() + noreply + "\r\n" + data + "\r\n";
            case 7 -> "add " + k + " " + f + " " + e + " " + data.length() + noreply + "\r\n" + data + "\r\n";
            case 8 -> "replace " + k + " " + f + " " + e + " " + data.length() + noreply + "\r\n" + data + "\r\n";
            case 9 -> "append " + k + " 0 0 " + data.length() + noreply + "\r\n" + data + "\r\n";
            case 10 -> "prepend " + k + " 0 0 " + data.length() + noreply + "\r\n" + data + "\r\n";
            case 11 -> "cas " + k + " " + f + " " + e + " " + data.length() + " " + rnd.nextInt(100_000) + noreply
                    + "\r\n" + data + "\r\n";
            case 12 -> "delete " + k + noreply + "\r\n";
            case 13 -> "incr " + k + " " + rnd.nextInt(100) + noreply + "\r\n";
            case 14 -> "decr " + k + " " + rnd.nextInt(100) + noreply + "\r\n";
            case 15 -> "touch " + k + " " + e + noreply + "\r\n";
            case 16 -> "version\r\n";
            case 17 -> "verbosity 1" + noreply + "\r\n";
            case 18 -> rnd.nextInt(10) == 0 ? "stats\r\n" : "get " + k + "\r\n";
            default -> "set " + k + " 0 0 " + data.length() + "\r\n" + data + "\r\n";
        };
    }

    /** Mutates a valid request (9 in 10 times) in one or two of the ways a broken client would. */
    private static byte[] mutate(Random rnd, String request) {
        byte[] b = request.getBytes(StandardCharsets.ISO_8859_1);
        if (rnd.nextInt(10) == 0) {
            return b;
        }
        int rounds = 1 + (rnd.nextInt(4) == 0 ? 1 : 0);
        for (int r = 0; r < rounds; r++) {
            String s = new String(b, StandardCharsets.ISO_8859_1);
            switch (rnd.nextInt(11)) {
                case 0 -> { // bit flips
                    int flips = 1 + rnd.nextInt(3);
                    for (int i = 0; i < flips && b.length > 0; i++) {
                        b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length + 1)); // truncation
                case 2 -> { // inserted CR, LF, spaces, NULs
                    int at = rnd.nextInt(b.length + 1);
                    s = s.substring(0, at) + INSERTS[rnd.nextInt(INSERTS.length)] + s.substring(at);
                    b = s.getBytes(StandardCharsets.ISO_8859_1);
                }
                case 3 -> b = replaceNumber(rnd, s, HUGE[rnd.nextInt(HUGE.length)]);
                case 4 -> b = replaceNumber(rnd, s, rnd.nextInt(40) == 0 ? SWALLOWED[rnd.nextInt(SWALLOWED.length)]
                        : "-" + (1 + rnd.nextInt(100))); // negative (rarely huge) lengths and numbers
                case 5 -> { // overlong keys, now and then a line too long to be a command
                    // the proxy (like memcached, when a line outgrows its buffer) closes on a line too long:
                    // kept rare, or most batches would be cut short
                    int len = rnd.nextInt(150) == 0 ? 2049 + rnd.nextInt(4000) : 251 + rnd.nextInt(200);
                    b = s.replaceFirst("fz[0-9]+", "k".repeat(len)).getBytes(StandardCharsets.ISO_8859_1);
                }
                case 6 -> { // bad data chunk: a block longer or shorter than declared, or without its CRLF
                    int lastCrlf = s.lastIndexOf("\r\n", s.length() - 3);
                    if (lastCrlf > 0 && s.indexOf("\r\n") != s.length() - 2) {
                        String tail = rnd.nextBoolean() ? "XYZ\r\n" : rnd.nextBoolean() ? "\n" : "";
                        b = (s.substring(0, s.length() - 2 - rnd.nextInt(2)) + tail).getBytes(StandardCharsets.ISO_8859_1);
                    }
                }
                case 7 -> { // unknown verbs
                    int sp = s.indexOf(' ');
                    String rest = sp < 0 ? "\r\n" : s.substring(sp);
                    b = (VERBS_UNKNOWN[rnd.nextInt(VERBS_UNKNOWN.length)] + rest).getBytes(StandardCharsets.ISO_8859_1);
                }
                case 8 -> { // spaces doubled or removed, extra arguments
                    String t = rnd.nextBoolean() ? s.replaceFirst(" ", "   ") : s.replaceFirst(" ", "");
                    if (rnd.nextBoolean()) {
                        t = t.replaceFirst("\r\n", " extra arg 1 2 3\r\n");
                    }
                    b = t.getBytes(StandardCharsets.ISO_8859_1);
                }
                case 9 -> { // random bytes, then a line end
                    byte[] junk = new byte[1 + rnd.nextInt(200)];
                    rnd.nextBytes(junk);
                    ByteArrayOutputStream o = new ByteArrayOutputStream();
                    o.writeBytes(junk);
                    o.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
                    b = o.toByteArray();
                }
                default -> { // LF-only line ends, as some clients send
                    b = s.replace("\r\n", "\n").getBytes(StandardCharsets.ISO_8859_1);
                }
            }
        }
        return b;
    }

    private static byte[] replaceNumber(Random rnd, String s, String with) {
        var m = Pattern.compile("(?<= )[0-9]+(?=[ \r])").matcher(s);
        int count = 0;
        while (m.find()) {
            count++;
        }
        if (count == 0) {
            return s.getBytes(StandardCharsets.ISO_8859_1);
        }
        int pick = rnd.nextInt(count);
        m.reset();
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (m.find()) {
            m.appendReplacement(out, i++ == pick ? with : m.group());
        }
        m.appendTail(out);
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c < 32 || c > 126) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
            if (sb.length() > 400) {
                sb.append("…");
                break;
            }
        }
        return sb.toString();
    }
}
