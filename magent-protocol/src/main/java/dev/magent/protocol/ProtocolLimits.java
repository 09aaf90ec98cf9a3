package dev.magent.protocol;

/**
 * The limits a decoder enforces, memcached's by default.
 *
 * @param maxKeyLength        longest key in bytes (memcached: 250)
 * @param maxLineLength       longest command or reply line in bytes, CRLF excluded (memcached: 2048)
 * @param maxRetrievalLineLength longest get/gets/gat/gats line: memcached reads multi-key retrievals past
 *                            its 2048-byte line limit, so clients send hundreds of keys in one line
 * @param maxValueSize        largest data block in bytes (memcached's default item size: 1 MiB)
 */
public record ProtocolLimits(int maxKeyLength, int maxLineLength, int maxRetrievalLineLength, int maxValueSize) {
    /** memcached's defaults: 250-byte keys, 2048-byte lines, 1 MiB values; 256 KiB multi-get lines. */
    public static final ProtocolLimits DEFAULT = new ProtocolLimits(250, 2048, 256 * 1024, 1024 * 1024);

    public ProtocolLimits {
        if (maxKeyLength < 1 || maxLineLength < 16 || maxValueSize < 0) {
            throw new IllegalArgumentException("limits out of range: key " + maxKeyLength + ", line "
                    + maxLineLength + ", value " + maxValueSize);
        }
        if (maxKeyLength >= maxLineLength) {
            throw new IllegalArgumentException("a key must fit on a line");
        }
        if (maxRetrievalLineLength < maxLineLength) {
            throw new IllegalArgumentException("a retrieval line limit below the line limit");
        }
    }

    /** These limits with another value size limit. */
    public ProtocolLimits withMaxValueSize(int newMaxValueSize) {
        return new ProtocolLimits(maxKeyLength, maxLineLength, maxRetrievalLineLength, newMaxValueSize);
    }
}
