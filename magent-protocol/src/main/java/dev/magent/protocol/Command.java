package dev.magent.protocol;

/**
 * A request to a memcached server, independent of the wire format that carried it.
 *
 * <p>Commands holding a value ({@link StorageCommand}) are {@link io.netty.util.ReferenceCounted}; the
 * receiver releases them.
 *
 * @see <a href="https://github.com/memcached/memcached/blob/master/doc/protocol.txt">memcached protocol.txt</a>
 */
public sealed interface Command
        permits RetrievalCommand, StorageCommand, ArithmeticCommand, DeleteCommand, TouchCommand,
        FlushAllCommand, VersionCommand, StatsCommand, VerbosityCommand, QuitCommand, MetaGetCommand,
        MetaCommand, AdminCommand, ServerCommand {

    /** The verb of this command. */
    Verb verb();

    /** True when the client asked for no reply; the server sends nothing back, not even errors it can suppress. */
    default boolean noreply() {
        return false;
    }
}
