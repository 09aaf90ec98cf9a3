package dev.magent.core.backend;

/** One event loop's way to every server: the ungated pools. */
public interface Backends {
    /**
     * The server's backend as it is (no health or hint gating). Exactly this server's: a request still on
     * its way when a reload removed the server (its id may now name another one) is failed with
     * {@link BackendException.Reason#REMOVED}, never sent to whichever server took its place.
     */
    Backend backend(BackendServer server);
}
