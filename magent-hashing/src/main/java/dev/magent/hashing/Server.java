package dev.magent.hashing;

import java.util.Objects;

/**
 * A server on a ring.
 *
 * @param host   host name or IP literal (IPv6 without brackets)
 * @param port   TCP port
 * @param weight relative share of keys for ketama, at least 1; modulo ignores it
 */
public record Server(String host, int port, int weight) {
    public Server {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range 1..65535: " + port);
        }
        if (weight < 1) {
            throw new IllegalArgumentException("weight must be at least 1: " + weight + " for " + host + ":" + port);
        }
    }

    /** A server of weight 1. */
    public static Server of(String host, int port) {
        return new Server(host, port, 1);
    }

    /** {@code host:port}, with brackets around an IPv6 literal: the name ketama points are made from. */
    public String name() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
