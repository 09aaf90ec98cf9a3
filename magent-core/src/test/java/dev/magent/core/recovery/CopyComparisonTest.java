package dev.magent.core.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.core.recovery.CopyComparison.Difference;
import dev.magent.core.route.ReadRepair;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import dev.magent.protocol.Value;
import dev.magent.protocol.Verb;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** docs/semantics.md, "Anti-entropy": what differs between two copies and the conditional repair. */
class CopyComparisonTest {
    private static final byte[] KEY = "k".getBytes(StandardCharsets.US_ASCII);

    private static ReadRepair.Fetched item(String value, int flags, long cas, long ttl) {
        return new ReadRepair.Fetched(new Value(KEY, flags, Unpooled.copiedBuffer(value, StandardCharsets.US_ASCII),
                cas), ttl);
    }

    @Test
    void valuesAreComparedByteForByteAndFlagsApartFromCasAndTtl() {
        assertEquals(Difference.SAME, CopyComparison.compare(item("v", 1, 10, -1), item("v", 1, 99, 30)));
        assertEquals(Difference.VALUE, CopyComparison.compare(item("v", 1, 10, -1), item("w", 1, 10, -1)));
        assertEquals(Difference.VALUE, CopyComparison.compare(item("v", 1, 10, -1), item("vv", 1, 10, -1)));
        assertEquals(Difference.FLAGS, CopyComparison.compare(item("v", 1, 10, -1), item("v", 2, 10, -1)));
        assertEquals(Difference.VALUE_AND_FLAGS, CopyComparison.compare(item("v", 1, 10, -1), item("w", 2, 10, -1)));
        assertEquals(Difference.MISSING, CopyComparison.compare(item("v", 1, 10, -1), null));
        assertEquals(Difference.EXTRA, CopyComparison.compare(null, item("v", 1, 10, -1)));
        assertEquals(Difference.SAME, CopyComparison.compare(null, null));
    }

    @Test
    void aMissingCopyIsAddedWithTheAuthoritysFlagsAndRemainingTtl() {
        StorageCommand add = (StorageCommand) CopyComparison.repair(Difference.MISSING, KEY, item("v", 5, 10, 30),
                null);
        assertEquals(Verb.ADD, add.verb());
        assertEquals(5, add.flags());
        assertEquals(30, add.exptime());
        assertEquals("v", add.value().toString(StandardCharsets.US_ASCII));
        add.release();
    }

    @Test
    void aDifferentCopyIsOverwrittenOnlyIfUnchangedSinceItsRead() {
        StorageCommand cas = (StorageCommand) CopyComparison.repair(Difference.VALUE, KEY, item("new", 5, 10, -1),
                item("old", 5, 77, -1));
        assertEquals(Verb.CAS, cas.verb());
        assertEquals(77, cas.casUnique(), "the copy's own unique: a client write since the read makes it EXISTS");
        assertEquals(0, cas.exptime(), "no expiry stays no expiry");
        assertEquals("new", cas.value().toString(StandardCharsets.US_ASCII));
        cas.release();
    }

    @Test
    void aCopyTheAuthorityLacksIsDeletedOnlyIfUnchangedSinceItsRead() {
        MetaCommand md = (MetaCommand) CopyComparison.repair(Difference.EXTRA, KEY, null, item("v", 0, 42, -1));
        assertEquals(Verb.MD, md.verb());
        assertEquals(List.of("b", "C42"), md.flags());
        assertEquals("aw==", new String(md.key(), StandardCharsets.US_ASCII), "the key in base64");
    }

    @Test
    void nothingIsWrittenForTheSameOrAnItemAboutToExpire() {
        assertNull(CopyComparison.repair(Difference.SAME, KEY, item("v", 0, 1, -1), item("v", 0, 2, -1)));
        assertNull(CopyComparison.repair(Difference.MISSING, KEY, item("v", 0, 1, 0), null));
        assertNull(CopyComparison.repair(Difference.VALUE, KEY, item("v", 0, 1, 0), item("w", 0, 2, -1)));
    }

    @Test
    void storedAndHdAreApplied() {
        assertTrue(CopyComparison.applied(StatusReply.STORED));
        assertTrue(CopyComparison.applied(new MetaReply("HD", List.of(), null)));
        assertEquals(false, CopyComparison.applied(StatusReply.EXISTS));
        assertEquals(false, CopyComparison.applied(StatusReply.NOT_STORED));
        assertEquals(false, CopyComparison.applied(new MetaReply("EX", List.of(), null)));
        assertEquals(false, CopyComparison.applied(new MetaReply("NF", List.of(), null)));
    }
}
