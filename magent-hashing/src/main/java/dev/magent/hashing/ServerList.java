package dev.magent.hashing;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** The checks every ring makes on the server list it is built from. */
final class ServerList {
    private ServerList() {
    }

    /** An immutable copy of a non-empty list without a host:port listed twice. */
    static List<Server> validated(List<Server> servers) {
        Objects.requireNonNull(servers, "servers");
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("a ring needs at least one server");
        }
        Set<String> seen = new HashSet<>();
        for (Server s : servers) {
            Objects.requireNonNull(s, "null server in the list");
            if (!seen.add(s.name())) {
                // weights aside, two entries for one address would be one server with two shares of keys
                throw new IllegalArgumentException("server listed twice: " + s.name());
            }
        }
        return List.copyOf(servers);
    }

    /** Checks the arguments of a copies lookup. */
    static void checkCopies(int copies) {
        if (copies < 0) {
            throw new IllegalArgumentException("copies must not be negative: " + copies);
        }
    }
}
