package dev.magent.protocol;

import java.nio.charset.StandardCharsets;

/** Small helpers for keys, which the model carries as raw bytes. */
public final class Keys {
    private Keys() {
    }

    /** The key's bytes as an ASCII/UTF-8 string, for logs and tests. */
    public static String toString(byte[] key) {
        return new String(key, StandardCharsets.UTF_8);
    }

    /** The UTF-8 bytes of a key given as a string. */
    public static byte[] of(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }
}
