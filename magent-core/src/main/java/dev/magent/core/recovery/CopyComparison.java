package dev.magent.core.recovery;

import dev.magent.core.route.ReadRepair;
import dev.magent.protocol.Command;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Verb;
import io.netty.buffer.ByteBufUtil;
import java.util.Base64;
import java.util.List;

/**
 * The verify's rule for one key on two servers (docs/semantics.md, "Anti-entropy"): what differs between
 * the authority's copy (the first copy in service: the main, unless it is out) and another copy, and the
 * command that makes the other copy agree without overwriting a client's later write. Values are compared
 * byte for byte, and client flags; TTLs are not (they tick apart by a second), nor cas uniques (each
 * server has its own).
 */
final class CopyComparison {
    /** How a copy differs from the authority. */
    enum Difference {
        SAME,
        /** The authority has the key, the copy not. */
        MISSING,
        /** The copy has the key, the authority not. */
        EXTRA,
        VALUE,
        FLAGS,
        VALUE_AND_FLAGS
    }

    private CopyComparison() {
    }

    /** Compares a copy with the authority; a null reading is a miss ({@code EN}). */
    static Difference compare(ReadRepair.Fetched authority, ReadRepair.Fetched copy) {
        if (authority == null) {
            return copy == null ? Difference.SAME : Difference.EXTRA;
        }
        if (copy == null) {
            return Difference.MISSING;
        }
        boolean value = !ByteBufUtil.equals(authority.value().data(), copy.value().data());
        boolean flags = authority.value().flags() != copy.value().flags();
        return value && flags ? Difference.VALUE_AND_FLAGS : value ? Difference.VALUE
                : flags ? Difference.FLAGS : Difference.SAME;
    }

    /**
     * The command that gives the copy the authority's state, conditional on the copy being as read, so a
     * client write that reached the copy since wins: {@code add} for a missing key, {@code cas} with the
     * copy's unique for a different value or flags (with the authority's remaining TTL), {@code md <key>
     * C<unique>} for a key the authority lacks. Null when nothing is to be done (same, or the authority's
     * item is about to expire). The value's data is retained for the command.
     */
    static Command repair(Difference d, byte[] key, ReadRepair.Fetched authority, ReadRepair.Fetched copy) {
        return switch (d) {
            case SAME -> null;
            case MISSING -> ReadRepair.add(authority.value(), authority.remainingTtl());
            case VALUE, FLAGS, VALUE_AND_FLAGS -> {
                StorageCommand add = ReadRepair.add(authority.value(), authority.remainingTtl());
                yield add == null ? null : add.withVerb(Verb.CAS, copy.value().casUnique());
            }
            case EXTRA -> deleteIfUnchanged(key, copy.value().casUnique());
        };
    }

    /**
     * {@code md <base64 key> b C<cas>}: deletes the item only if no one wrote it since it was read. The key
     * always goes in base64, which carries any key, one only a meta client can write (a space, a NUL) too.
     */
    static MetaCommand deleteIfUnchanged(byte[] key, long cas) {
        return new MetaCommand(Verb.MD, Base64.getEncoder().encode(key), key,
                List.of("b", "C" + Long.toUnsignedString(cas)), null);
    }

    /** Whether a repair command took effect: STORED (add, cas) or HD (md, or a base64 key's ms). */
    static boolean applied(Reply r) {
        return r == StatusReply.STORED || r instanceof MetaReply m && m.code().equals("HD");
    }
}
