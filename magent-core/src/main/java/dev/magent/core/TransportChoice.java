package dev.magent.core;

import java.util.Locale;

/**
 * The socket implementation a configuration asks for ({@code --transport}, the file's {@code transport}):
 * {@link #AUTO} lets the proxy take the fastest one the kernel allows; the others insist on one and make
 * start-up fail when it cannot be had. {@link Transport#select} turns a choice into the transport used.
 */
public enum TransportChoice {
    /** io_uring when the kernel allows it, else epoll, else Java NIO. */
    AUTO,
    /** Linux io_uring (kernel 5.14 or later, and not refused by a seccomp filter or sysctl). */
    IO_URING,
    /** Linux epoll. */
    EPOLL,
    /** Java NIO: any platform. */
    NIO;

    /** How the flag and the file write it: {@code auto}, {@code io_uring}, {@code epoll}, {@code nio}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The choice written {@code value} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static TransportChoice parse(String value) {
        for (TransportChoice c : values()) {
            if (c.wireName().equalsIgnoreCase(value)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown transport '" + value + "': expected auto, io_uring, epoll or nio");
    }
}
