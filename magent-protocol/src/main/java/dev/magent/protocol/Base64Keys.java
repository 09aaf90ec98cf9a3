package dev.magent.protocol;

import java.util.Arrays;

/**
 * memcached's base64 decoder for meta keys under the {@code b} flag (base64.c), byte for byte: bytes outside
 * the alphabet are skipped, the alphabet bytes must come in fours, and decoding stops after the first group
 * with padding. Java's decoders are stricter, and a key memcached accepts must hash the same here.
 */
final class Base64Keys {
    private static final byte[] TABLE = new byte[256];

    static {
        Arrays.fill(TABLE, (byte) 0x80);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.length(); i++) {
            TABLE[alphabet.charAt(i)] = (byte) i;
        }
        TABLE['='] = 0;
    }

    private Base64Keys() {
    }

    /** The decoded key, or null where memcached fails to decode it (it returns 0 bytes then). */
    static byte[] decode(byte[] src) {
        int count = 0;
        for (byte b : src) {
            if (TABLE[b & 0xFF] != (byte) 0x80) {
                count++;
            }
        }
        if (count == 0 || count % 4 != 0) {
            return null;
        }
        byte[] out = new byte[count / 4 * 3];
        int pos = 0;
        int[] block = new int[4];
        int pad = 0;
        count = 0;
        for (byte b : src) {
            int tmp = TABLE[b & 0xFF] & 0xFF;
            if (tmp == 0x80) {
                continue;
            }
            if (b == '=') {
                pad++;
            }
            block[count++] = tmp;
            if (count == 4) {
                out[pos++] = (byte) ((block[0] << 2) | (block[1] >> 4));
                out[pos++] = (byte) ((block[1] << 4) | (block[2] >> 2));
                out[pos++] = (byte) ((block[2] << 6) | block[3]);
                count = 0;
                if (pad > 0) {
                    if (pad == 1) {
                        pos--;
                    } else if (pad == 2) {
                        pos -= 2;
                    } else {
                        return null; // invalid padding
                    }
                    break;
                }
            }
        }
        return pos == 0 ? null : Arrays.copyOf(out, pos);
    }
}
