package dev.magent.core.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.protocol.Keys;
import java.util.List;
import org.junit.jupiter.api.Test;

class HintLogTest {
    @Test
    void recordsKeysByValue() {
        HintLog log = new HintLog(10);
        assertTrue(log.isEmpty());
        log.record(Keys.of("a"));
        log.record(Keys.of("a"));
        log.record(Keys.of("b"));
        assertEquals(2, log.size());
        assertTrue(log.contains(Keys.of("a")));
        assertFalse(log.contains(Keys.of("c")));
    }

    @Test
    void aKeyWrittenAgainDuringItsCopyStaysHinted() {
        HintLog log = new HintLog(10);
        log.record(Keys.of("k"));
        List<HintLog.Hint> pass = log.snapshot(100);
        log.record(Keys.of("k")); // a client wrote k while the catch-up was copying it
        assertFalse(log.resolved(pass.get(0)), "the older copy must not clear the newer hint");
        assertTrue(log.contains(Keys.of("k")));
        assertTrue(log.resolved(log.snapshot(100).get(0)));
        assertTrue(log.isEmpty());
    }

    @Test
    void overflowIsRememberedUntilCleared() {
        HintLog log = new HintLog(2);
        log.record(Keys.of("1"));
        log.record(Keys.of("2"));
        assertFalse(log.overflowed());
        log.record(Keys.of("3"));
        assertTrue(log.overflowed());
        assertEquals(2, log.size(), "bounded");
        log.clear();
        assertFalse(log.overflowed());
        assertTrue(log.isEmpty());
        log.markOverflowed();
        assertTrue(log.overflowed());
    }
}
