package dev.magent.protocol;

import java.nio.charset.StandardCharsets;

/** The one-word replies that carry no data. */
public enum StatusReply implements Reply {
    STORED,
    NOT_STORED,
    EXISTS,
    NOT_FOUND,
    DELETED,
    TOUCHED,
    OK;

    private final byte[] line = (name() + "\r\n").getBytes(StandardCharsets.US_ASCII);

    /** The reply line with its CRLF; a fresh copy. */
    public byte[] line() {
        return line.clone();
    }
}
