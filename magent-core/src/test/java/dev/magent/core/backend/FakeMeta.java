package dev.magent.core.backend;

import dev.magent.core.backend.FakeBackend.Item;
import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Keys;
import dev.magent.protocol.MetaCommand;
import dev.magent.protocol.MetaReply;
import dev.magent.protocol.Reply;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * {@link FakeBackend}'s meta commands, as memcached 1.6.18 answers the flags route tests use: {@code mg}
 * ({@code v f t c k O}, {@code T} touch, {@code N} vivify answering {@code W}), {@code ms} (modes
 * {@code E A P R S}, {@code F T C}), {@code md} ({@code C}), {@code ma} ({@code N J D M C v}). The key is
 * the decoded one; returned flags come in the order asked, as memcached returns them.
 */
final class FakeMeta {
    private FakeMeta() {
    }

    static Reply apply(Map<String, Item> items, LongSupplier nextCas, MetaCommand m) {
        String key = Keys.toString(m.routingKey());
        Item old = items.get(key);
        String cas = m.token('C');
        switch (m.verb()) {
            case MG -> {
                if (old == null) {
                    String vivify = m.token('N');
                    if (vivify == null) {
                        return new MetaReply("EN", List.of(), null);
                    }
                    items.put(key, new Item("", 0, Long.parseLong(vivify), nextCas.getAsLong()));
                    return reply(m, items.get(key), "W");
                }
                if (m.has('T')) {
                    old = new Item(old.value(), old.flags(), Long.parseLong(m.token('T')), old.cas());
                    items.put(key, old);
                }
                return reply(m, old, null);
            }
            case MS -> {
                String data = m.value().toString(StandardCharsets.US_ASCII);
                if (cas != null && (old == null || old.cas() != Long.parseUnsignedLong(cas))) {
                    return new MetaReply(old == null ? "NF" : "EX", List.of(), null);
                }
                String mode = m.has('M') ? m.token('M') : "S";
                int flags = m.has('F') ? Integer.parseInt(m.token('F')) : 0;
                long ttl = m.has('T') ? Long.parseLong(m.token('T')) : 0;
                switch (mode) {
                    case "E" -> {
                        if (old != null) {
                            return new MetaReply("NS", List.of(), null);
                        }
                    }
                    case "R", "A", "P" -> {
                        if (old == null) {
                            return new MetaReply("NS", List.of(), null);
                        }
                        if (!mode.equals("R")) {
                            data = mode.equals("A") ? old.value() + data : data + old.value();
                            flags = old.flags();
                            ttl = old.exptime();
                        }
                    }
                    default -> {
                    }
                }
                items.put(key, new Item(data, flags, ttl, nextCas.getAsLong()));
                return reply(m, null, null);
            }
            case MD -> {
                if (old == null) {
                    return new MetaReply("NF", List.of(), null);
                }
                if (cas != null && old.cas() != Long.parseUnsignedLong(cas)) {
                    return new MetaReply("EX", List.of(), null);
                }
                items.remove(key);
                return reply(m, null, null);
            }
            case MA -> {
                if (old == null) {
                    if (!m.has('N')) {
                        return new MetaReply("NF", List.of(), null);
                    }
                    old = new Item(m.has('J') ? m.token('J') : "0", 0, Long.parseLong(m.token('N')),
                            nextCas.getAsLong());
                    items.put(key, old);
                    return reply(m, old, null);
                }
                if (cas != null && old.cas() != Long.parseUnsignedLong(cas)) {
                    return new MetaReply("EX", List.of(), null);
                }
                long n;
                try {
                    n = Long.parseUnsignedLong(old.value());
                } catch (NumberFormatException e) {
                    return ErrorReply.client("cannot increment or decrement non-numeric value");
                }
                long delta = m.has('D') ? Long.parseUnsignedLong(m.token('D')) : 1;
                String mode = m.has('M') ? m.token('M') : "I";
                n = mode.equals("D") || mode.equals("-") ? Math.max(0, n - delta) : n + delta;
                Item now = new Item(Long.toUnsignedString(n), old.flags(), old.exptime(), nextCas.getAsLong());
                items.put(key, now);
                return reply(m, now, null);
            }
            default -> {
                return ErrorReply.UNKNOWN_COMMAND;
            }
        }
    }

    /** HD, or VA with the value under v; the asked-for flags in order, then an extra one (W). */
    private static MetaReply reply(MetaCommand m, Item item, String extra) {
        List<String> out = new ArrayList<>();
        for (String f : m.flags()) {
            char letter = f.charAt(0);
            switch (letter) {
                case 'O', 'b' -> out.add(f);
                case 'k' -> out.add("k" + Keys.toString(m.key()));
                case 'f' -> out.add("f" + (item == null ? 0 : item.flags()));
                case 't' -> out.add("t" + (item == null || item.exptime() == 0 ? -1 : item.exptime()));
                case 'c' -> out.add("c" + (item == null ? 0 : item.cas()));
                default -> {
                }
            }
        }
        if (extra != null) {
            out.add(extra);
        }
        if (item != null && m.has('v')) {
            return new MetaReply("VA", out, Unpooled.copiedBuffer(item.value(), StandardCharsets.US_ASCII));
        }
        return new MetaReply("HD", out, null);
    }

    /** {@code ms <key> <len> <flags> <data>}, {@code mg|md|ma <key> <flags>}, as on the wire. */
    static String describe(MetaCommand m) {
        StringBuilder sb = new StringBuilder(m.verb().wireName());
        if (m.key().length > 0) {
            sb.append(' ').append(Keys.toString(m.key()));
        }
        if (m.value() != null) {
            sb.append(' ').append(m.value().readableBytes());
        }
        for (String f : m.flags()) {
            sb.append(' ').append(f);
        }
        if (m.value() != null) {
            sb.append(' ').append(m.value().toString(StandardCharsets.US_ASCII));
        }
        return sb.toString();
    }
}
