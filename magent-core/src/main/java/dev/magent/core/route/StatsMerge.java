package dev.magent.core.route;

import dev.magent.protocol.Stat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the replies of several memcached servers to one {@code stats} sub-command become one reply shaped
 * as memcached's: the same names in the same order, so that tools written for memcached read it. Counters
 * are summed; ages and times take the largest; sizes that are the same on every server (chunk sizes) are
 * taken from the first. Pure functions of the replies, for unit tests.
 */
final class StatsMerge {
    /** How the values of one statistic combine. */
    private enum Rule { SUM, MAX, FIRST }

    /** Fields of {@code stats items} that are ages in seconds, not counts. */
    private static final Set<String> ITEM_AGES = Set.of("age", "age_hot", "age_warm", "evicted_time");
    /** Fields of {@code stats slabs} that describe the class, the same on every server with the same -f/-n. */
    private static final Set<String> SLAB_SHAPE = Set.of("chunk_size", "chunks_per_page");

    private StatsMerge() {
    }

    /** {@code stats items}: {@code items:<class>:<field>}, classes in ascending order. */
    static List<Stat> items(List<List<Stat>> perServer) {
        return merge(perServer, name -> ITEM_AGES.contains(field(name)) ? Rule.MAX : Rule.SUM,
                name -> classOf(name.startsWith("items:") ? name.substring(6) : name));
    }

    /**
     * {@code stats slabs}: {@code <class>:<field>} in ascending class order, then {@code active_slabs} (the
     * classes active on any server) and {@code total_malloced} (summed).
     */
    static List<Stat> slabs(List<List<Stat>> perServer) {
        List<Stat> merged = merge(perServer, name -> SLAB_SHAPE.contains(field(name)) ? Rule.FIRST : Rule.SUM,
                StatsMerge::classOf);
        long classes = merged.stream().map(s -> classOf(s.name())).filter(c -> c != Long.MAX_VALUE).distinct()
                .count();
        List<Stat> out = new ArrayList<>(merged.size());
        for (Stat s : merged) {
            out.add(s.name().equals("active_slabs") ? new Stat("active_slabs", Long.toString(classes)) : s);
        }
        return out;
    }

    /** {@code stats sizes}: {@code <size> <count>} summed, sizes ascending; {@code sizes_status} from the first. */
    static List<Stat> sizes(List<List<Stat>> perServer) {
        return merge(perServer, name -> Rule.SUM, name -> {
            Long size = number(name);
            return size == null ? -1 : size;
        });
    }

    /**
     * {@code stats conns}: every server's connections one after the other. The numbers before the colon
     * are file descriptors, which repeat across servers: they are renumbered from 1 in the order seen, so
     * that one connection's lines keep one number and no two connections share one.
     */
    static List<Stat> conns(List<List<Stat>> perServer) {
        List<Stat> out = new ArrayList<>();
        int next = 1;
        for (List<Stat> stats : perServer) {
            Map<String, Integer> renumbered = new HashMap<>();
            for (Stat s : stats) {
                int colon = s.name().indexOf(':');
                if (colon < 0) {
                    out.add(s);
                    continue;
                }
                String fd = s.name().substring(0, colon);
                Integer id = renumbered.get(fd);
                if (id == null) {
                    id = next++;
                    renumbered.put(fd, id);
                }
                out.add(new Stat(id + s.name().substring(colon), s.value()));
            }
        }
        return out;
    }

    /**
     * {@code stats detail dump}: {@code PREFIX <prefix> get <n> hit <n> set <n> del <n>} lines summed by
     * prefix, in the order first seen, then {@code END}.
     *
     * @param perServer each server's reply text (lines ending in CRLF; its END may be there or not)
     */
    static String detailDump(List<String> perServer) {
        Map<String, long[]> byPrefix = new LinkedHashMap<>();
        for (String text : perServer) {
            for (String line : text.split("\r\n")) {
                String[] w = line.split(" ");
                // PREFIX <prefix> get <n> hit <n> set <n> del <n>
                if (w.length != 10 || !w[0].equals("PREFIX")) {
                    continue;
                }
                long[] sums = byPrefix.computeIfAbsent(w[1], p -> new long[4]);
                for (int i = 0; i < 4; i++) {
                    Long n = number(w[3 + 2 * i]);
                    sums[i] += n == null ? 0 : n;
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, long[]> e : byPrefix.entrySet()) {
            long[] n = e.getValue();
            sb.append("PREFIX ").append(e.getKey()).append(" get ").append(n[0]).append(" hit ").append(n[1])
                    .append(" set ").append(n[2]).append(" del ").append(n[3]).append("\r\n");
        }
        return sb.append("END\r\n").toString();
    }

    /** The part of a name after its last colon. */
    private static String field(String name) {
        return name.substring(name.lastIndexOf(':') + 1);
    }

    /** The number before the first colon, e.g. the slab class of {@code 12:chunk_size}; last if none. */
    private static long classOf(String name) {
        int colon = name.indexOf(':');
        Long n = colon < 0 ? null : number(name.substring(0, colon));
        return n == null ? Long.MAX_VALUE : n;
    }

    private static Long number(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return null;
            }
        }
        return Long.parseLong(s);
    }

    /**
     * Merges by name: a name's values combine by its rule when all are whole numbers, else the first
     * server's value stands. Names come in the order of {@code group} (stable: first seen within a group).
     */
    private static List<Stat> merge(List<List<Stat>> perServer, java.util.function.Function<String, Rule> rule,
                                    java.util.function.ToLongFunction<String> group) {
        Map<String, String> values = new LinkedHashMap<>();
        for (List<Stat> stats : perServer) {
            for (Stat s : stats) {
                String before = values.get(s.name());
                if (before == null) {
                    values.put(s.name(), s.value());
                    continue;
                }
                Long a = number(before);
                Long b = number(s.value());
                if (a == null || b == null) {
                    continue;
                }
                long combined = switch (rule.apply(s.name())) {
                    case SUM -> a + b;
                    case MAX -> Math.max(a, b);
                    case FIRST -> a;
                };
                values.put(s.name(), Long.toString(combined));
            }
        }
        List<Stat> out = new ArrayList<>(values.size());
        values.forEach((name, value) -> out.add(new Stat(name, value)));
        out.sort(Comparator.comparingLong(s -> group.applyAsLong(s.name()))); // stable: List.sort is a merge sort
        return out;
    }
}
