package dev.magent.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One text-protocol command line, already split into {@link LineTokens}, to a {@link Command} or a
 * {@link ProtocolError}; the checks and their order follow memcached's proto_text.c. A storage command
 * (or a meta set) is held here until {@link CommandDecoder} has read its data block. Framing (lines, data
 * blocks, what to skip) is the decoder's; what a line means is this class's.
 */
final class TextCommandParser {
    /** What the decoder does after a line. */
    enum Next {
        /** The line was a whole command (or error): read the next line. */
        LINE_DONE,
        /** A storage command waits for {@link #dataLength()} bytes of data and CRLF. */
        READ_DATA,
        /** Swallow {@link #skipLength()} bytes (a value too large, as memcached does), then read lines. */
        SKIP_DATA,
        /** The connection is to be closed: ignore everything else. */
        DISCARD
    }

    private static final ProtocolError UNKNOWN_COMMAND = new ProtocolError(ErrorReply.UNKNOWN_COMMAND, false);
    /** memcached closes the connection, without a word, on an unknown command ending in HTTP/... */
    private static final ProtocolError HTTP_REQUEST = new ProtocolError(ErrorReply.UNKNOWN_COMMAND, true, true);
    private static final ProtocolError BAD_COMMAND_LINE = new ProtocolError(ErrorReply.BAD_COMMAND_LINE, false);
    private static final ProtocolError BAD_DATA_CHUNK = new ProtocolError(ErrorReply.BAD_DATA_CHUNK, false);
    private static final ProtocolError OBJECT_TOO_LARGE = new ProtocolError(ErrorReply.OBJECT_TOO_LARGE, false);
    private static final ProtocolError INVALID_EXPTIME =
            new ProtocolError(ErrorReply.client("invalid exptime argument"), false);
    private static final ProtocolError INVALID_DELTA =
            new ProtocolError(ErrorReply.client("invalid numeric delta argument"), false);
    private static final byte[] REASSIGN = Wire.ascii("reassign");
    private static final byte[] AUTOMOVE = Wire.ascii("automove");
    private static final ProtocolError DELETE_USAGE =
            new ProtocolError(ErrorReply.client("bad command line format.  Usage: delete <key> [noreply]"), false);

    /** The verbs this decoder reads, with their bytes, in rough order of frequency. */
    private static final Verb[] VERBS = {
        Verb.GET, Verb.SET, Verb.GETS, Verb.DELETE, Verb.INCR, Verb.DECR, Verb.TOUCH, Verb.GAT, Verb.GATS,
        Verb.ADD, Verb.REPLACE, Verb.APPEND, Verb.PREPEND, Verb.CAS, Verb.VERSION, Verb.STATS, Verb.FLUSH_ALL,
        Verb.VERBOSITY, Verb.QUIT, Verb.SLABS, Verb.CACHE_MEMLIMIT, Verb.LRU_CRAWLER, Verb.LRU, Verb.EXTSTORE,
        Verb.WATCH, Verb.SHUTDOWN, Verb.REFRESH_CERTS,
    };
    private static final byte[] META_PREFIX = Wire.ascii("m");
    private static final byte[][] VERB_BYTES = new byte[VERBS.length][];

    static {
        for (int i = 0; i < VERBS.length; i++) {
            VERB_BYTES[i] = VERBS[i].wireBytes();
        }
    }

    private final ProtocolLimits limits;
    /** The first word of the proxy's own {@link AdminCommand}s, or null when they are not decoded. */
    private final byte[] adminPrefix;
    private final LineTokens tokens;
    private final MetaParser meta;
    private Next next;

    // The storage command waiting for its data block (READ_DATA) ...
    private Verb dataVerb;
    private byte[] dataKey;
    private int dataFlags;
    private long dataExptime;
    private long dataCas;
    private int dataLength;
    private boolean dataNoreply;
    /** Or the meta set waiting for its data block (its value a placeholder), instead of the fields above. */
    private MetaCommand dataMeta;
    // ... or the bytes still to swallow (SKIP_DATA).
    private long skipRemaining;

    TextCommandParser(ProtocolLimits limits, String adminPrefix, LineTokens tokens) {
        this.limits = limits;
        this.adminPrefix = adminPrefix == null ? null : adminPrefixBytes(adminPrefix);
        this.tokens = tokens;
        this.meta = new MetaParser(limits);
    }

    static byte[] adminPrefixBytes(String prefix) {
        byte[] bytes = prefix.getBytes(StandardCharsets.US_ASCII);
        boolean printable = !prefix.isEmpty() && prefix.chars().allMatch(c -> c > ' ' && c < 0x7F);
        boolean memcached = Arrays.stream(VERBS).anyMatch(v -> v.wireName().equals(prefix))
                || prefix.length() == 2 && prefix.charAt(0) == 'm'; // mg, ms, md, mn, ma, me
        if (!printable || memcached) {
            throw new IllegalArgumentException("not usable as an admin command prefix: '" + prefix + "'");
        }
        return bytes;
    }

    /** Length of the data block the held storage command waits for. */
    int dataLength() {
        return dataLength;
    }

    /** Bytes to swallow after {@link Next#SKIP_DATA}. */
    long skipLength() {
        return skipRemaining;
    }

    /** The held storage command with its data block, which it takes (a retained slice). */
    void complete(ByteBuf value, List<Object> out) {
        if (dataMeta != null) {
            MetaCommand m = dataMeta;
            out.add(new MetaCommand(m.verb(), m.key(), m.routingKey(), m.flags(), value));
        } else {
            out.add(new StorageCommand(dataVerb, dataKey, dataFlags, dataExptime, dataCas, value, dataNoreply));
        }
        clear();
    }

    /**
     * The held command's data block did not end in CRLF. memcached reads {@code <bytes>} + 2, checks only
     * the last two, and parses what follows as a command; a meta set always reports it, q or not.
     */
    void badDataChunk(List<Object> out) {
        error(out, BAD_DATA_CHUNK, dataMeta == null && dataNoreply);
        clear();
    }

    /** Forgets a held command (nothing it holds is reference-counted). */
    void clear() {
        dataKey = null;
        dataMeta = null;
    }

    /**
     * Reports an error found after memcached has seen {@code noreply} on the line: memcached then answers
     * nothing at all, and neither does the decoder emit anything, so a server cannot answer by mistake.
     */
    private static void error(List<Object> out, ProtocolError error, boolean noreply) {
        if (!noreply) {
            out.add(error);
        }
    }

    Next parse(List<Object> out) {
        next = Next.LINE_DONE;
        command(out);
        return next;
    }

    private void command(List<Object> out) {
        if (tokens.count() == 0) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        if (tokens.length(0) == 2 && tokens.startsWith(0, META_PREFIX)) {
            meta(out); // mg ms md ma mn me, and memcached's ERROR for any other m?
            return;
        }
        Verb verb = verb();
        if (verb == null && adminPrefix != null && tokens.is(0, adminPrefix)) {
            // <admin prefix> <word>*\r\n
            List<String> words = new ArrayList<>(tokens.count() - 1);
            for (int i = 1; i < tokens.count(); i++) {
                words.add(tokens.string(i));
            }
            out.add(new AdminCommand(words));
            return;
        }
        if (verb == null) {
            if (tokens.startsWith(tokens.count() - 1, Wire.HTTP)) {
                out.add(HTTP_REQUEST);
                next = Next.DISCARD;
            } else {
                out.add(UNKNOWN_COMMAND);
            }
            return;
        }
        switch (verb) {
            case GET, GETS, GAT, GATS -> retrieval(verb, out);
            case SET, ADD, REPLACE, APPEND, PREPEND, CAS -> storage(verb, out);
            case INCR, DECR -> arithmetic(verb, out);
            case DELETE -> delete(out);
            case TOUCH -> touch(out);
            case FLUSH_ALL -> flushAll(out);
            case VERBOSITY -> verbosity(out);
            // version and quit ignore any arguments, as memcached does
            case VERSION -> out.add(VersionCommand.INSTANCE);
            case QUIT -> out.add(QuitCommand.INSTANCE);
            // stats [args]\r\n: the arguments are the proxy's business; they are passed on, spaces collapsed
            case STATS -> out.add(tokens.count() == 1 ? StatsCommand.GENERAL : new StatsCommand(tokens.join(1)));
            case SLABS, CACHE_MEMLIMIT, LRU_CRAWLER, LRU, EXTSTORE, WATCH, SHUTDOWN, REFRESH_CERTS ->
                    serverCommand(verb, out);
            default -> out.add(UNKNOWN_COMMAND);
        }
    }

    /** A meta command: memcached's checks in {@link MetaParser}; an ms goes on to read its data block. */
    private void meta(List<Object> out) {
        MetaCommand m = meta.parse(tokens);
        if (m == null) {
            out.add(new ProtocolError(meta.error(), false));
            if (meta.swallow() > 0) {
                skipRemaining = meta.swallow();
                next = Next.SKIP_DATA;
            }
            return;
        }
        if (m.verb() != Verb.MS) {
            out.add(m);
            return;
        }
        if (meta.dataLength() > limits.maxValueSize()) {
            // as for set: memcached unlinks the old item when it refuses a value too large (a decoded base64
            // key a text delete cannot carry goes as md, see CommandEncoder)
            out.add(new DeleteCommand(m.routingKey(), true));
            out.add(OBJECT_TOO_LARGE);
            skipRemaining = meta.dataLength() + 2L;
            next = Next.SKIP_DATA;
            return;
        }
        dataMeta = m;
        dataLength = meta.dataLength();
        next = Next.READ_DATA;
    }

    private Verb verb() {
        int length = tokens.length(0);
        for (int i = 0; i < VERBS.length; i++) {
            if (VERB_BYTES[i].length == length && tokens.is(0, VERB_BYTES[i])) {
                return VERBS[i];
            }
        }
        return null;
    }

    private void retrieval(Verb verb, List<Object> out) {
        int n = tokens.count();
        if (n < 2) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        int firstKey = 1;
        long exptime = 0;
        if (verb == Verb.GAT || verb == Verb.GATS) {
            // gat|gats <exptime> <key>*\r\n
            if (!tokens.parseS32(1)) {
                out.add(INVALID_EXPTIME);
                return;
            }
            exptime = tokens.number();
            firstKey = 2;
            if (n == 2) {
                out.add(UNKNOWN_COMMAND); // memcached answers a bare END; see docs/protocol.md
                return;
            }
        }
        // get|gets <key>*\r\n
        for (int i = firstKey; i < n; i++) {
            if (tokens.length(i) > limits.maxKeyLength()) {
                out.add(BAD_COMMAND_LINE);
                return;
            }
        }
        List<byte[]> keys;
        if (n - firstKey == 1) {
            byte[] key = key(firstKey);
            if (key == null) {
                out.add(BAD_COMMAND_LINE);
                return;
            }
            keys = List.of(key);
        } else {
            keys = new ArrayList<>(n - firstKey);
            for (int i = firstKey; i < n; i++) {
                byte[] key = key(i);
                if (key == null) {
                    out.add(BAD_COMMAND_LINE);
                    return;
                }
                keys.add(key);
            }
        }
        out.add(new RetrievalCommand(verb, keys, exptime));
    }

    /** Token {@code i} as a key, or null if it is not a valid key. */
    private byte[] key(int i) {
        if (tokens.length(i) > limits.maxKeyLength()) {
            return null;
        }
        byte[] key = tokens.bytes(i);
        return Wire.validKey(key, limits.maxKeyLength()) ? key : null;
    }

    private void storage(Verb verb, List<Object> out) {
        // <command name> <key> <flags> <exptime> <bytes> [noreply]\r\n
        // cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]\r\n
        int n = tokens.count();
        int required = verb == Verb.CAS ? 6 : 5;
        if (n != required && n != required + 1) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        // memcached takes a last token "noreply" as noreply wherever it is, and from then on drops errors
        boolean noreply = tokens.lastIsNoreply();
        if (tokens.length(1) > limits.maxKeyLength() || !tokens.parseU32(2)) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        int flags = (int) tokens.number();
        if (!tokens.parseS32(3)) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        long exptime = tokens.number();
        if (!tokens.parseS32(4)) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        long length = tokens.number();
        long cas = 0;
        if (verb == Verb.CAS) {
            if (!tokens.parseU64(5)) {
                error(out, BAD_COMMAND_LINE, noreply);
                return;
            }
            cas = tokens.number();
        }
        if (length < 0 || length > Integer.MAX_VALUE - 2) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        byte[] key = key(1);
        if (key == null) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        if (length > limits.maxValueSize()) {
            if (verb == Verb.SET) {
                // memcached unlinks the old item when a set is refused as too large, so that a failed
                // replacement never leaves the stale value readable: say so as a silent delete first
                out.add(new DeleteCommand(key, true));
            }
            error(out, OBJECT_TOO_LARGE, noreply);
            skipRemaining = length + 2;
            next = Next.SKIP_DATA;
            return;
        }
        dataVerb = verb;
        dataKey = key;
        dataFlags = flags;
        dataExptime = exptime;
        dataCas = cas;
        dataLength = (int) length;
        dataNoreply = noreply;
        next = Next.READ_DATA;
    }

    private void arithmetic(Verb verb, List<Object> out) {
        // incr|decr <key> <value> [noreply]\r\n
        int n = tokens.count();
        if (n != 3 && n != 4) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        boolean noreply = tokens.lastIsNoreply();
        byte[] key = key(1);
        if (key == null) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        if (!tokens.parseU64(2)) {
            error(out, INVALID_DELTA, noreply);
            return;
        }
        out.add(new ArithmeticCommand(verb, key, tokens.number(), noreply));
    }

    private void delete(List<Object> out) {
        // delete <key> [0] [noreply]\r\n   (the 0 is a relic of the removed hold time)
        int n = tokens.count();
        if (n < 2 || n > 4) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        boolean noreply = false;
        if (n > 2) {
            boolean zero = tokens.is(2, Wire.ZERO);
            noreply = tokens.lastIsNoreply();
            boolean valid = n == 3 ? zero || noreply : zero && noreply;
            if (!valid) {
                error(out, DELETE_USAGE, noreply);
                return;
            }
        }
        byte[] key = key(1);
        if (key == null) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        out.add(new DeleteCommand(key, noreply));
    }

    private void touch(List<Object> out) {
        // touch <key> <exptime> [noreply]\r\n
        int n = tokens.count();
        if (n != 3 && n != 4) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        boolean noreply = tokens.lastIsNoreply();
        byte[] key = key(1);
        if (key == null) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        if (!tokens.parseS32(2)) {
            error(out, INVALID_EXPTIME, noreply);
            return;
        }
        out.add(new TouchCommand(key, tokens.number(), noreply));
    }

    private void flushAll(List<Object> out) {
        // flush_all [delay] [noreply]\r\n
        int n = tokens.count();
        if (n > 3) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        boolean noreply = tokens.lastIsNoreply();
        long delay = FlushAllCommand.NO_DELAY;
        if (n != (noreply ? 2 : 1)) {
            if (!tokens.parseS32(1)) {
                error(out, INVALID_EXPTIME, noreply);
                return;
            }
            // memcached flushes at once for any delay <= 0
            delay = Math.max(0, tokens.number());
        }
        out.add(new FlushAllCommand(delay, noreply));
    }

    private void verbosity(List<Object> out) {
        // verbosity <level> [noreply]\r\n
        int n = tokens.count();
        if (n != 2 && n != 3) {
            out.add(UNKNOWN_COMMAND);
            return;
        }
        boolean noreply = tokens.lastIsNoreply();
        if (!tokens.parseU32(1)) {
            error(out, BAD_COMMAND_LINE, noreply);
            return;
        }
        out.add(new VerbosityCommand((int) Math.min(tokens.number(), Integer.MAX_VALUE), noreply));
    }

    private void serverCommand(Verb verb, List<Object> out) {
        // <verb> <word>*\r\n: which words look for a last noreply, as memcached 1.6's proto_text.c decides
        int words = tokens.count();
        boolean noreplyLast = tokens.lastIsNoreply();
        boolean noreply = switch (verb) {
            // slabs reassign <src> <dst> | slabs automove <0|1|2> | slabs automove ratio <r>
            case SLABS -> !(words == 4 && tokens.is(1, REASSIGN)) && words >= 3 && tokens.is(1, AUTOMOVE)
                    && noreplyLast;
            case CACHE_MEMLIMIT, LRU, EXTSTORE, WATCH -> noreplyLast;
            // lru_crawler and shutdown answer even after a noreply; so does refresh_certs on a server without
            // TLS (its error is written past the noreply check), which is how a proxy answers it
            default -> false;
        };
        boolean tooFew = switch (verb) {
            case CACHE_MEMLIMIT -> words != 2 && words != 3; // cache_memlimit <megabytes> [noreply]
            case LRU, EXTSTORE -> words < 2;
            default -> false;
        };
        if (tooFew) {
            out.add(UNKNOWN_COMMAND); // memcached answers these before it looks for noreply
            return;
        }
        List<String> arguments = new ArrayList<>(words - 1);
        for (int i = 1; i < words; i++) {
            arguments.add(tokens.string(i));
        }
        out.add(new ServerCommand(verb, arguments, noreply));
    }
}
