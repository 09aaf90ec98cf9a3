package dev.magent.core;

import java.util.Objects;

/**
 * A memcached server's address as given on the command line: {@code host:port}, with {@code [v6]:port}
 * for IPv6 literals. Not resolved here: resolution happens when connecting, so a server whose name does
 * not resolve yet is merely down.
 *
 * @param host a host name or IP literal (IPv6 without brackets)
 * @param port the TCP port, 1..65535
 */
public record ServerAddress(String host, int port) {
    public ServerAddress {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range 1..65535: " + port);
        }
    }

    /**
     * Parses {@code host:port} or {@code [ipv6]:port}.
     *
     * @throws IllegalArgumentException with a message naming the problem
     */
    public static ServerAddress parse(String text) {
        Objects.requireNonNull(text, "text");
        String host;
        String portText;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("expected [ipv6]:port, got '" + text + "'");
            }
            host = text.substring(1, close);
            portText = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon <= 0 || text.indexOf(':') != colon) {
                throw new IllegalArgumentException("expected host:port, got '" + text + "'");
            }
            host = text.substring(0, colon);
            portText = text.substring(colon + 1);
        }
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in '" + text + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range 1..65535 in '" + text + "'");
        }
        if (host.isBlank()) {
            throw new IllegalArgumentException("empty host in '" + text + "'");
        }
        return new ServerAddress(host, port);
    }

    /** {@code host:port}, or {@code [host]:port} for IPv6 literals. */
    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
