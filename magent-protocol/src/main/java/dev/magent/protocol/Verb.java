package dev.magent.protocol;

import java.nio.charset.StandardCharsets;

/**
 * Every request verb the model knows, classified once by what it does to the cache.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public enum Verb {
    GET("get", Intent.READ, false),
    GETS("gets", Intent.READ, false),
    GAT("gat", Intent.READ, false),
    GATS("gats", Intent.READ, false),
    SET("set", Intent.WRITE, true),
    ADD("add", Intent.WRITE, true),
    REPLACE("replace", Intent.WRITE, true),
    APPEND("append", Intent.WRITE, true),
    PREPEND("prepend", Intent.WRITE, true),
    CAS("cas", Intent.WRITE, true),
    INCR("incr", Intent.WRITE, true),
    DECR("decr", Intent.WRITE, true),
    DELETE("delete", Intent.WRITE, true),
    TOUCH("touch", Intent.WRITE, true),
    FLUSH_ALL("flush_all", Intent.WRITE, true),
    VERSION("version", Intent.ADMIN, false),
    STATS("stats", Intent.ADMIN, false),
    VERBOSITY("verbosity", Intent.ADMIN, true),
    QUIT("quit", Intent.ADMIN, false),
    // The server's own settings and housekeeping ({@link ServerCommand}): a proxy broadcasts or refuses them.
    SLABS("slabs", Intent.ADMIN, true),
    CACHE_MEMLIMIT("cache_memlimit", Intent.ADMIN, true),
    LRU_CRAWLER("lru_crawler", Intent.ADMIN, false),
    LRU("lru", Intent.ADMIN, true),
    EXTSTORE("extstore", Intent.ADMIN, true),
    WATCH("watch", Intent.ADMIN, true),
    SHUTDOWN("shutdown", Intent.ADMIN, false),
    REFRESH_CERTS("refresh_certs", Intent.ADMIN, true),
    /** Meta get ({@code mg}): {@link MetaCommand} from clients, {@link MetaGetCommand} for the proxy's own reads. */
    MG("mg", Intent.READ, false),
    /** Meta set ({@code ms}). */
    MS("ms", Intent.WRITE, false),
    /** Meta delete ({@code md}). */
    MD("md", Intent.WRITE, false),
    /** Meta arithmetic ({@code ma}). */
    MA("ma", Intent.WRITE, false),
    /** Meta no-op ({@code mn}): answered by whoever receives it, after everything before it. */
    MN("mn", Intent.ADMIN, false),
    /** Meta debug ({@code me}): an item's metadata, read like an item. */
    ME("me", Intent.READ, false),
    /** A proxy's own administrative command ({@link AdminCommand}); its wire name is the decoder's prefix. */
    ADMIN("magent", Intent.ADMIN, false);

    /** What a verb does to the cache, for routing decisions made in one place. */
    public enum Intent {
        /** Reads items; never changes them (gat/gats do refresh the expiry). */
        READ,
        /** Changes items; a replicating proxy copies these. */
        WRITE,
        /** Talks to the server itself, not to an item. */
        ADMIN
    }

    private final String wireName;
    private final byte[] wireBytes;
    private final Intent intent;
    private final boolean acceptsNoreply;

    Verb(String wireName, Intent intent, boolean acceptsNoreply) {
        this.wireName = wireName;
        this.wireBytes = wireName.getBytes(StandardCharsets.US_ASCII);
        this.intent = intent;
        this.acceptsNoreply = acceptsNoreply;
    }

    /** The verb as written on the wire, e.g. {@code "flush_all"}. */
    public String wireName() {
        return wireName;
    }

    /** The verb's ASCII bytes; a fresh copy, so callers may keep it. */
    public byte[] wireBytes() {
        return wireBytes.clone();
    }

    /** Whether the verb reads, writes or administers. */
    public Intent intent() {
        return intent;
    }

    /** Whether memcached accepts a trailing {@code noreply} on this verb. */
    public boolean acceptsNoreply() {
        return acceptsNoreply;
    }

    /** True for get, gets, gat and gats: the verbs answered with VALUE lines and END. */
    public boolean isRetrieval() {
        return this == GET || this == GETS || this == GAT || this == GATS;
    }

    /** True for gets and gats, whose VALUE lines carry the cas unique. */
    public boolean returnsCas() {
        return this == GETS || this == GATS;
    }

    /** True for the meta-protocol verbs: mg, ms, md, ma, mn and me. */
    public boolean isMeta() {
        return this == MG || this == MS || this == MD || this == MA || this == MN || this == ME;
    }

    /** True for set, add, replace, append, prepend and cas: the verbs followed by a data block. */
    public boolean isStorage() {
        return this == SET || this == ADD || this == REPLACE || this == APPEND || this == PREPEND || this == CAS;
    }
}
