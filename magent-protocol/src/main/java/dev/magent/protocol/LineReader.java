package dev.magent.protocol;

import static dev.magent.protocol.Wire.CR;
import static dev.magent.protocol.Wire.LF;

import io.netty.buffer.ByteBuf;

/**
 * Finds the next line of a text-protocol cumulation, for both directions (commands and replies). A line
 * ends at LF, with or without a CR before it, as memcached reads them. An incomplete line is searched only
 * once: the next call resumes where the last one stopped, so a line that arrives a byte at a time costs
 * linear, not quadratic, time.
 */
final class LineReader {
    /** Bytes of the current, incomplete line already searched for LF. */
    private int scanned;
    private int end;
    private int next;

    /**
     * Looks for a whole line from the reader index. When there is one, {@link #end()} is the index just past
     * its content (a CR before the LF excluded) and {@link #next()} the index just past its LF.
     *
     * @return true when a whole line is readable; false when more input is needed
     */
    boolean find(ByteBuf in) {
        int start = in.readerIndex();
        int limit = in.writerIndex();
        if (start == limit) {
            return false;
        }
        int eol = in.indexOf(start + scanned, limit, LF);
        if (eol < 0) {
            scanned = limit - start;
            return false;
        }
        scanned = 0;
        end = eol > start && in.getByte(eol - 1) == CR ? eol - 1 : eol;
        next = eol + 1;
        return true;
    }

    /**
     * The length the incomplete line has at least, whatever comes next: the bytes read so far, less a last
     * CR that may be half of a CRLF. Valid after {@link #find} returned false.
     */
    int incompleteLength(ByteBuf in) {
        int limit = in.writerIndex();
        return scanned == 0 ? 0 : scanned - (in.getByte(limit - 1) == CR ? 1 : 0);
    }

    /** Index just past the found line's content. */
    int end() {
        return end;
    }

    /** Index just past the found line's LF: where the next message starts. */
    int next() {
        return next;
    }

    /** Forgets an incomplete line, for a decoder that discarded its input. */
    void reset() {
        scanned = 0;
    }
}
