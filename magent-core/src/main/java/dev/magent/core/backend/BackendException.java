package dev.magent.core.backend;

import dev.magent.core.ServerAddress;

/**
 * Why a request to one backend server produced no reply. A value of the routing layer: it decides whether
 * to fail over, and counts it against the server's health.
 */
public final class BackendException extends RuntimeException {
    /** What went wrong, in the terms the router and the stats care about. */
    public enum Reason {
        /** The server is marked down; the request was not sent. */
        DOWN,
        /** No reply within the request timeout. */
        TIMEOUT,
        /** The connection could not be opened or closed before the reply. */
        CONNECTION,
        /** The server answered something that is not memcached's protocol. */
        PROTOCOL,
        /**
         * The proxy itself failed (out of heap or direct memory): not the server's fault, never counted
         * against its health.
         */
        LOCAL,
        /** The proxy is shutting down. */
        SHUTDOWN,
        /** A reload removed the server while the request was on its way to it; not sent. */
        REMOVED
    }

    private final Reason reason;
    private final ServerAddress server;

    public BackendException(Reason reason, ServerAddress server, String detail) {
        super(server + ": " + detail, null, false, false);
        this.reason = reason;
        this.server = server;
    }

    /** The kind of failure. */
    public Reason reason() {
        return reason;
    }

    /** The server the request was for. */
    public ServerAddress server() {
        return server;
    }

    /** Whether this failure says something about the server's health (not overload or shutdown). */
    public boolean countsAgainstHealth() {
        return reason == Reason.TIMEOUT || reason == Reason.CONNECTION || reason == Reason.PROTOCOL;
    }
}
