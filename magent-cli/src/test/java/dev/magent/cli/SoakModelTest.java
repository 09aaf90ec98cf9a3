package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.magent.cli.SoakModel.Verdict;
import org.junit.jupiter.api.Test;

/** The soak's judge: what a read may return given the writes acknowledged before it and attempted until its reply. */
class SoakModelTest {
    @Test
    void aReadMayReturnAnyVersionFromTheLastAcknowledgedOnBeforeItWasSent() {
        SoakModel.Key k = new SoakModel.Key("k", false);
        assertEquals(Verdict.OK, k.check(k.acked(), null), "never written: a miss");
        long v1 = k.beginWrite(false);
        k.acked(v1, 0);
        long v2 = k.beginWrite(false); // in flight while the read runs
        long ackedBefore = k.acked();
        assertEquals(Verdict.OK, k.check(ackedBefore, k.valueOf(v1)));
        assertEquals(Verdict.OK, k.check(ackedBefore, k.valueOf(v2)), "a write in flight may already show");
        k.acked(v2, 1);
        assertEquals(Verdict.STALE, k.check(k.acked(), k.valueOf(v1)), "older than what was acknowledged before the read");
        assertEquals(Verdict.MISSING, k.check(k.acked(), null), "a miss where an acknowledged value should be");
        assertEquals(1, k.ackedVia());
    }

    @Test
    void aFailedWriteMayOrMayNotHaveHappenedUntilALaterOneIsAcknowledged() {
        SoakModel.Key k = new SoakModel.Key("k", false);
        k.acked(k.beginWrite(false), 0);
        long failed = k.beginWrite(false); // never acknowledged
        assertEquals(Verdict.OK, k.check(k.acked(), k.valueOf(failed)));
        assertEquals(Verdict.OK, k.check(k.acked(), k.valueOf(k.acked())));
        k.acked(k.beginWrite(false), 0);
        assertEquals(Verdict.STALE, k.check(k.acked(), k.valueOf(failed)));
    }

    @Test
    void deletesMakeMissesRightAndOldValuesStale() {
        SoakModel.Key k = new SoakModel.Key("k", false);
        long v1 = k.beginWrite(false);
        k.acked(v1, 0);
        long del = k.beginWrite(true);
        assertEquals(Verdict.OK, k.check(k.acked(), null), "a delete in flight may already show");
        k.acked(del, 0);
        assertTrue(k.isDelete(k.acked()));
        assertEquals(Verdict.OK, k.check(k.acked(), null));
        assertEquals(Verdict.STALE, k.check(k.acked(), k.valueOf(v1)), "the deleted value is back");
    }

    @Test
    void valuesNeverWrittenOrOfAnotherKeyAreBogus() {
        SoakModel.Key k = new SoakModel.Key("k", false);
        SoakModel.Key other = new SoakModel.Key("other", false);
        k.acked(k.beginWrite(false), 0);
        other.acked(other.beginWrite(false), 0);
        assertEquals(Verdict.BOGUS, k.check(0, k.valueOf(7)), "version 7 was never attempted");
        assertEquals(Verdict.BOGUS, k.check(0, other.valueOf(1)), "another key's value");
        assertEquals(Verdict.BOGUS, k.check(0, "garbage"));
    }

    @Test
    void countersAreTheirVersion() {
        SoakModel.Key c = new SoakModel.Key("c", true);
        c.acked(c.beginWrite(false), 0); // set to 1
        long expected = c.beginWrite(false); // incr: 2
        assertEquals("2", c.valueOf(expected));
        c.acked(2, 1);
        assertEquals(Verdict.STALE, c.check(c.acked(), "1"));
        assertEquals(Verdict.OK, c.check(c.acked(), "2"));
        assertEquals(Verdict.BOGUS, c.check(c.acked(), "3"));
    }
}
