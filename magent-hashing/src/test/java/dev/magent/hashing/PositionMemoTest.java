package dev.magent.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PositionMemoTest {
    /** A source that counts its calls; its "position" is a content hash, so any mix-up shows. */
    private static final class Counting implements PositionMemo.Source {
        int calls;

        @Override
        public int position(byte[] key, int offset, int length) {
            calls++;
            return Arrays.hashCode(Arrays.copyOfRange(key, offset, offset + length)) * 31 + length;
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aKeyPlacedAgainIsNotHashedAgain() {
        Counting source = new Counting();
        PositionMemo memo = new PositionMemo();
        byte[] key = bytes("user:1234:profile");
        int first = memo.position(key, 0, key.length, source);
        // the same bytes elsewhere (a request's key as a client sent it, inside a larger buffer)
        byte[] framed = bytes("get user:1234:profile\r\n");
        assertEquals(first, memo.position(framed, 4, key.length, source));
        assertEquals(1, source.calls);
    }

    @Test
    void keysThatShareASlotOrDifferInOneByteAreNeverConfused() {
        Counting source = new Counting();
        Counting reference = new Counting();
        PositionMemo memo = new PositionMemo();
        // far more keys than slots, nearly alike: every slot is reused many times
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < PositionMemo.SLOTS * 20; i++) {
                byte[] key = bytes(String.format("key:%08d", i));
                assertEquals(reference.position(key, 0, key.length), memo.position(key, 0, key.length, source), "key " + i);
                byte[] shorter = Arrays.copyOf(key, key.length - 1); // a prefix of the last key
                assertEquals(reference.position(shorter, 0, shorter.length),
                        memo.position(shorter, 0, shorter.length, source));
            }
        }
        byte[] empty = new byte[0];
        assertEquals(reference.position(empty, 0, 0), memo.position(empty, 0, 0, source));
    }

    @Test
    void keysLongerThanASlotAreHashedEveryTime() {
        Counting source = new Counting();
        PositionMemo memo = new PositionMemo();
        byte[] atLimit = new byte[PositionMemo.MAX_KEY];
        byte[] over = new byte[PositionMemo.MAX_KEY + 1];
        Arrays.fill(atLimit, (byte) 'a');
        Arrays.fill(over, (byte) 'a');
        memo.position(atLimit, 0, atLimit.length, source);
        memo.position(atLimit, 0, atLimit.length, source);
        assertEquals(1, source.calls);
        memo.position(over, 0, over.length, source);
        memo.position(over, 0, over.length, source);
        assertEquals(3, source.calls);
    }

    @Test
    void theRingsHashAgreesWithPlainMd5ForRepeatedKeys() {
        for (int round = 0; round < 2; round++) { // the second round is answered from the memo
            for (int i = 0; i < 2000; i++) {
                byte[] key = bytes("k" + i);
                assertEquals(KetamaReference.hash(key), KetamaRing.hash(key, 0, key.length), "key k" + i);
            }
        }
    }
}
