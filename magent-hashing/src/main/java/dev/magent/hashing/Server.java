package dev.magent.hashing;

import java.util.Objects;

/**
 * A memcached server on a ring.
 *
 * @param host   host name or IP literal, as written in the configuration: ketama hashes this text, so
 *               {@code "localhost"} and {@code "127.0.0.1"} are different servers to it. An IPv6 literal is
 *               given without brackets.
 * @param port   TCP port, 1..65535
 * @param weight relative share of keys for ketama, at least 1; {@link Algorithm#MODULO} ignores it
 */
public record Server(String host, int port, int weight) {

    /**
     * Checks the fields.
     *
     * @param host   host name or IP literal, IPv6 without brackets
     * @param port   TCP port, 1..65535
     * @param weight relative share of keys for ketama, at least 1
     * @throws IllegalArgumentException for an empty or bracketed host, a port outside 1..65535 or a weight
     *                                  below 1
     */
    public Server {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host");
        }
        if (host.startsWith("[")) {
            throw new IllegalArgumentException("give an IPv6 host without brackets: " + host);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range 1..65535: " + port + " for " + host);
        }
        if (weight < 1) {
            throw new IllegalArgumentException(
                    "weight must be at least 1: " + weight + " for " + hostPort(host, port));
        }
    }

    /**
     * A server of weight 1.
     *
     * @param host host name or IP literal (IPv6 without brackets)
     * @param port TCP port
     * @return the server
     */
    public static Server of(String host, int port) {
        return new Server(host, port, 1);
    }

    /**
     * {@code host:port}, with brackets around an IPv6 literal ({@code [::1]:11211}): how the server is
     * shown, and the base of its ketama point names under {@link KetamaRing.PointNaming#HOST_PORT}.
     *
     * @return the name
     */
    public String name() {
        return hostPort(host, port);
    }

    private static String hostPort(String host, int port) {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
