package dev.magent.core;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fake memcached that can be switched to misbehave, for fault-injection tests. It speaks just enough of
 * the text protocol for a proxy to use it as a server: get/gets, set/add/replace/append/prepend/cas,
 * delete, touch, incr/decr, mg (v f t c k s), stats (pid, time, uptime), version, flush_all, verbosity,
 * quit. Items never expire and memory is not limited. One thread per connection, on 127.0.0.1 and an
 * ephemeral port.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
final class FaultInjectingServer implements AutoCloseable {

    /** How the server misbehaves; switched at any time, applied to each request as it is read. */
    enum Fault {
        /** Behaves. */
        NONE,
        /** A retrieval with a hit gets its VALUE line and half the data block, then the connection closes. */
        CLOSE_MID_VALUE,
        /** A retrieval with a hit gets its VALUE line and half the data block, then nothing more, ever. */
        HALF_VALUE_THEN_STALL,
        /** Every request is answered with bytes that are no memcached reply; the connection stays open. */
        GARBAGE,
        /** Requests are read and never answered (like SIGSTOP, but the listener still accepts). */
        STALL,
        /** The connection is closed as soon as a request arrives. */
        CLOSE_ON_REQUEST
    }

    private record Item(int flags, byte[] data, long cas) {
    }

    private static final byte[] GARBAGE_BYTES =
            "\u0000\u0001\u00ff\u00feHTTP/1.1 400 Bad Request\r\nVALUE x y z\r\n".getBytes(StandardCharsets.ISO_8859_1);

    private final ServerSocket listener;
    private final Map<String, Item> items = new ConcurrentHashMap<>();
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong casCounter = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong faultsInjected = new AtomicLong();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final long startedAtSeconds = System.currentTimeMillis() / 1000;
    private final Thread acceptor;
    private volatile Fault fault = Fault.NONE;
    /** Requests the current fault still applies to; negative: until switched off. */
    private final AtomicLong faultBudget = new AtomicLong(-1);
    /** The only verb a limited fault applies to, or null for every request. */
    private volatile String faultVerb;
    private volatile boolean closed;

    private FaultInjectingServer() throws IOException {
        listener = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "fake-memcached-" + listener.getLocalPort());
        acceptor.setDaemon(true);
    }

    static FaultInjectingServer start() throws IOException {
        FaultInjectingServer s = new FaultInjectingServer();
        s.acceptor.start();
        return s;
    }

    int port() {
        return listener.getLocalPort();
    }

    ServerAddress address() {
        return new ServerAddress("127.0.0.1", port());
    }

    void fault(Fault f) {
        faultBudget.set(-1);
        faultVerb = null;
        fault = f;
    }

    /** Applies a fault to the next {@code requests} requests only, then behaves again. */
    void faultNext(Fault f, int requests) {
        faultNext(f, requests, null);
    }

    /** Applies a fault to the next {@code requests} requests with this verb (e.g. "set") only. */
    void faultNext(Fault f, int requests, String verb) {
        faultBudget.set(requests);
        faultVerb = verb;
        fault = f;
    }

    /** The fault for the request just read, counting down a limited fault. */
    private Fault faultForThisRequest(String verb) {
        Fault f = fault;
        if (f == Fault.NONE || faultBudget.get() < 0) {
            return f;
        }
        String only = faultVerb;
        if (only != null && !only.equals(verb)) {
            return Fault.NONE;
        }
        long left = faultBudget.getAndDecrement();
        if (left <= 0) {
            fault = Fault.NONE;
            return Fault.NONE;
        }
        return f;
    }

    Fault fault() {
        return fault;
    }

    /** Requests read so far (commands, not connections). */
    long requests() {
        return requests.get();
    }

    long faultsInjected() {
        return faultsInjected.get();
    }

    int openConnections() {
        return openConnections.get();
    }

    /** The value stored under a key, or null; for checking what the proxy wrote here. */
    String value(String key) {
        Item i = items.get(key);
        return i == null ? null : new String(i.data(), StandardCharsets.UTF_8);
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            connections.add(s);
            openConnections.incrementAndGet();
            Thread t = new Thread(() -> serve(s), "fake-memcached-conn-" + s.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            boolean stalled = false;
            while (!closed) {
                String line = readLine(in);
                if (line == null) {
                    return;
                }
                requests.incrementAndGet();
                String[] w = line.isEmpty() ? new String[] {""} : line.split(" +");
                byte[] data = null;
                if (isStorage(w[0]) && w.length >= 5) {
                    int len;
                    try {
                        len = Integer.parseInt(w[4]);
                    } catch (NumberFormatException e) {
                        len = -1;
                    }
                    if (len >= 0) {
                        data = in.readNBytes(len + 2);
                        if (data.length < len + 2) {
                            return;
                        }
                    }
                }
                if (stalled) {
                    continue; // a connection that stalled mid-reply never answers again
                }
                Fault f = faultForThisRequest(w[0]);
                switch (f) {
                    case STALL -> {
                        faultsInjected.incrementAndGet();
                        continue;
                    }
                    case GARBAGE -> {
                        faultsInjected.incrementAndGet();
                        out.write(GARBAGE_BYTES);
                        out.flush();
                        continue;
                    }
                    case CLOSE_ON_REQUEST -> {
                        faultsInjected.incrementAndGet();
                        return;
                    }
                    default -> {
                    }
                }
                ByteArrayOutputStream reply = new ByteArrayOutputStream();
                boolean quit = answer(w, data, reply);
                byte[] bytes = reply.toByteArray();
                if ((f == Fault.CLOSE_MID_VALUE || f == Fault.HALF_VALUE_THEN_STALL) && isRetrieval(w[0])
                        && startsWith(bytes, "VALUE ", "VA ")) {
                    faultsInjected.incrementAndGet();
                    int lineEnd = indexOfCrlf(bytes);
                    int cut = lineEnd + 2 + Math.max(1, (bytes.length - lineEnd - 2) / 4);
                    out.write(bytes, 0, Math.min(cut, bytes.length - 1));
                    out.flush();
                    if (f == Fault.CLOSE_MID_VALUE) {
                        return;
                    }
                    stalled = true;
                    continue;
                }
                out.write(bytes);
                out.flush();
                if (quit) {
                    return;
                }
            }
        } catch (IOException e) {
            // the peer went away
        } finally {
            connections.remove(s);
            openConnections.decrementAndGet();
        }
    }

    private static boolean startsWith(byte[] bytes, String... prefixes) {
        String head = new String(bytes, 0, Math.min(bytes.length, 8), StandardCharsets.ISO_8859_1);
        for (String p : prefixes) {
            if (head.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    private static int indexOfCrlf(byte[] b) {
        for (int i = 0; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return b.length - 2;
    }

    private static boolean isStorage(String verb) {
        return switch (verb) {
            case "set", "add", "replace", "append", "prepend", "cas" -> true;
            default -> false;
        };
    }

    private static boolean isRetrieval(String verb) {
        return switch (verb) {
            case "get", "gets", "gat", "gats", "mg" -> true;
            default -> false;
        };
    }

    /** Writes the well-behaved answer; returns true for quit. */
    private boolean answer(String[] w, byte[] data, ByteArrayOutputStream out) {
        String verb = w[0];
        boolean noreply = w[w.length - 1].equals("noreply");
        String r;
        try {
            switch (verb) {
                case "get", "gets" -> {
                    for (int i = 1; i < w.length; i++) {
                        Item it = items.get(w[i]);
                        if (it != null) {
                            write(out, "VALUE " + w[i] + " " + Integer.toUnsignedString(it.flags()) + " "
                                    + it.data().length + (verb.equals("gets") ? " " + it.cas() : "") + "\r\n");
                            out.writeBytes(it.data());
                            write(out, "\r\n");
                        }
                    }
                    r = "END\r\n";
                }
                case "set", "add", "replace", "append", "prepend", "cas" -> {
                    if (data == null || data[data.length - 2] != '\r' || data[data.length - 1] != '\n') {
                        r = "CLIENT_ERROR bad data chunk\r\n";
                    } else {
                        r = store(verb, w, java.util.Arrays.copyOf(data, data.length - 2));
                    }
                }
                case "delete" -> r = items.remove(w[1]) != null ? "DELETED\r\n" : "NOT_FOUND\r\n";
                case "touch" -> r = items.containsKey(w[1]) ? "TOUCHED\r\n" : "NOT_FOUND\r\n";
                case "incr", "decr" -> r = arithmetic(verb, w[1], Long.parseUnsignedLong(w[2]));
                case "mg" -> r = metaGet(w, out);
                case "stats" -> {
                    long now = System.currentTimeMillis() / 1000;
                    r = "STAT pid " + (100_000 + port()) + "\r\nSTAT uptime " + (now - startedAtSeconds) + "\r\n"
                            + "STAT time " + now + "\r\nSTAT version 1.6.18-fake\r\nSTAT curr_items " + items.size()
                            + "\r\nEND\r\n";
                }
                case "version" -> r = "VERSION 1.6.18-fake\r\n";
                case "flush_all" -> {
                    items.clear();
                    r = "OK\r\n";
                }
                case "verbosity" -> r = "OK\r\n";
                case "quit" -> {
                    return true;
                }
                default -> r = "ERROR\r\n";
            }
        } catch (RuntimeException e) {
            r = "CLIENT_ERROR bad command line format\r\n";
        }
        if (!noreply) {
            write(out, r);
        }
        return false;
    }

    private String store(String verb, String[] w, byte[] value) {
        String key = w[1];
        int flags = Integer.parseUnsignedInt(w[2]);
        long cas = casCounter.incrementAndGet();
        synchronized (items) {
            Item old = items.get(key);
            switch (verb) {
                case "add" -> {
                    if (old != null) {
                        return "NOT_STORED\r\n";
                    }
                }
                case "replace" -> {
                    if (old == null) {
                        return "NOT_STORED\r\n";
                    }
                }
                case "append", "prepend" -> {
                    if (old == null) {
                        return "NOT_STORED\r\n";
                    }
                    byte[] joined = new byte[old.data().length + value.length];
                    byte[] first = verb.equals("append") ? old.data() : value;
                    byte[] second = verb.equals("append") ? value : old.data();
                    System.arraycopy(first, 0, joined, 0, first.length);
                    System.arraycopy(second, 0, joined, first.length, second.length);
                    items.put(key, new Item(old.flags(), joined, cas));
                    return "STORED\r\n";
                }
                case "cas" -> {
                    if (old == null) {
                        return "NOT_FOUND\r\n";
                    }
                    if (old.cas() != Long.parseUnsignedLong(w[5])) {
                        return "EXISTS\r\n";
                    }
                }
                default -> {
                }
            }
            items.put(key, new Item(flags, value, cas));
            return "STORED\r\n";
        }
    }

    private String arithmetic(String verb, String key, long delta) {
        synchronized (items) {
            Item old = items.get(key);
            if (old == null) {
                return "NOT_FOUND\r\n";
            }
            long v = Long.parseUnsignedLong(new String(old.data(), StandardCharsets.US_ASCII).trim());
            v = verb.equals("incr") ? v + delta : Long.compareUnsigned(delta, v) > 0 ? 0 : v - delta;
            String s = Long.toUnsignedString(v);
            items.put(key, new Item(old.flags(), s.getBytes(StandardCharsets.US_ASCII), casCounter.incrementAndGet()));
            return s + "\r\n";
        }
    }

    /** mg with the flags the proxy uses: v (value), f (flags), t (ttl: always -1 here), c (cas), k, s. */
    private String metaGet(String[] w, ByteArrayOutputStream out) {
        Item it = items.get(w[1]);
        if (it == null) {
            return "EN\r\n";
        }
        StringBuilder flags = new StringBuilder();
        boolean value = false;
        for (int i = 2; i < w.length; i++) {
            switch (w[i].charAt(0)) {
                case 'v' -> value = true;
                case 'f' -> flags.append(" f").append(Integer.toUnsignedString(it.flags()));
                case 't' -> flags.append(" t-1");
                case 'c' -> flags.append(" c").append(it.cas());
                case 'k' -> flags.append(" k").append(w[1]);
                case 's' -> flags.append(" s").append(it.data().length);
                default -> {
                }
            }
        }
        if (!value) {
            return "HD" + flags + "\r\n";
        }
        write(out, "VA " + it.data().length + flags + "\r\n");
        out.writeBytes(it.data());
        return "\r\n";
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A line without its CRLF (a lone LF also ends it, as memcached allows); null at end of stream. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            if (b == '\n') {
                byte[] bytes = buf.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.UTF_8);
            }
            buf.write(b);
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Socket s : connections) {
            s.close();
        }
    }
}
