package dev.magent.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LineReaderTest {
    private final LineReader lines = new LineReader();

    @Test
    void aLineEndsAtCrlfOrAtABareLf() {
        ByteBuf in = Unpooled.copiedBuffer("get a\r\nget b\nrest", StandardCharsets.US_ASCII);
        assertTrue(lines.find(in));
        assertEquals(5, lines.end());
        assertEquals(7, lines.next());
        in.readerIndex(lines.next());
        assertTrue(lines.find(in));
        assertEquals(12, lines.end(), "a bare LF ends the line too");
        assertEquals(13, lines.next());
        in.readerIndex(lines.next());
        assertFalse(lines.find(in));
        assertEquals(4, lines.incompleteLength(in));
        in.release();
    }

    @Test
    void aLineArrivingByteByByteIsFoundWhereItEnds() {
        byte[] line = "set k 0 0 1\r\n".getBytes(StandardCharsets.US_ASCII);
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < line.length - 1; i++) {
            in.writeByte(line[i]);
            assertFalse(lines.find(in));
            // a CR just read may be half of a CRLF: it does not count towards the line's length
            assertEquals(line[i] == '\r' ? i : i + 1, lines.incompleteLength(in));
        }
        in.writeByte('\n');
        assertTrue(lines.find(in));
        assertEquals(line.length - 2, lines.end());
        assertEquals(line.length, lines.next());
        in.release();
    }

    @Test
    void anEmptyBufferHasNoLineAndNoLength() {
        ByteBuf in = Unpooled.buffer();
        assertFalse(lines.find(in));
        assertEquals(0, lines.incompleteLength(in));
        in.release();
    }
}
