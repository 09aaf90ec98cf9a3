package dev.magent.protocol;

import java.util.Objects;

/**
 * {@code VERSION <version>}.
 *
 * @param version the version string
 */
public record VersionReply(String version) implements Reply {
    public VersionReply {
        Objects.requireNonNull(version, "version");
    }
}
