package dev.magent.core.backend;

import dev.magent.protocol.ArithmeticCommand;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.TouchCommand;
import dev.magent.protocol.Verb;

/** Which key a command is placed by: what the rings hash and what hints and key-affine connections use. */
public final class CommandKeys {
    private CommandKeys() {
    }

    /** The key of a single-key command, or null (retrievals check their keys one by one). */
    public static byte[] keyOf(Command c) {
        if (c instanceof StorageCommand s) {
            return s.key();
        } else if (c instanceof ArithmeticCommand a) {
            return a.key();
        } else if (c instanceof DeleteCommand d) {
            return d.key();
        } else if (c instanceof TouchCommand t) {
            return t.key();
        } else if (c instanceof MetaGetCommand m) {
            return m.key();
        } else if (c instanceof MetaCommand m) {
            return m.verb() == Verb.MN ? null : m.routingKey(); // decoded: the text command's key and hash
        }
        return null; // retrievals check their keys one by one
    }
}
