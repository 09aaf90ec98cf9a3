package dev.magent.core.admin;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of Prometheus' text format 0.0.4 for tests: every line must be a {@code # HELP} or
 * {@code # TYPE} comment or a sample {@code name{labels} value}; it fails with the line number otherwise.
 * Also checks what the format asks of families: HELP and TYPE once each, before the family's samples,
 * which come together; counters end in {@code _total}; a summary's samples are its quantiles,
 * {@code _sum} and {@code _count}; no series twice.
 */
final class Exposition {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern HELP = Pattern.compile("# HELP (" + NAME.pattern() + ") (.*)");
    private static final Pattern TYPE = Pattern.compile("# TYPE (" + NAME.pattern() + ") (counter|gauge|summary|histogram|untyped)");
    private static final Pattern SAMPLE = Pattern.compile("(" + NAME.pattern() + ")(\\{.*})? (\\S+)( -?[0-9]+)?");

    /** One sample line. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    final Map<String, String> types = new LinkedHashMap<>();
    final Map<String, String> help = new HashMap<>();
    final List<Sample> samples = new ArrayList<>();

    private Exposition() {
    }

    static Exposition parse(String text) {
        Exposition e = new Exposition();
        if (!text.endsWith("\n")) {
            throw new AssertionError("the exposition must end with a line feed");
        }
        String[] lines = text.split("\n", -1);
        String family = null;
        Set<String> closed = new HashSet<>();
        Set<String> series = new HashSet<>();
        for (int n = 0; n < lines.length - 1; n++) {
            String line = lines[n];
            String where = "line " + (n + 1) + " '" + line + "': ";
            Matcher m;
            if ((m = HELP.matcher(line)).matches()) {
                if (e.help.put(m.group(1), unescape(m.group(2), false, where)) != null) {
                    throw new AssertionError(where + "second HELP for " + m.group(1));
                }
                if (family != null) {
                    closed.add(family);
                }
                family = m.group(1);
                if (closed.contains(family)) {
                    throw new AssertionError(where + "family " + family + " appears twice");
                }
            } else if ((m = TYPE.matcher(line)).matches()) {
                if (!m.group(1).equals(family) || e.types.containsKey(family)) {
                    throw new AssertionError(where + "TYPE must follow its family's HELP, once");
                }
                if (m.group(2).equals("counter") && !family.endsWith("_total")) {
                    throw new AssertionError(where + "a counter's name ends in _total");
                }
                e.types.put(family, m.group(2));
            } else if ((m = SAMPLE.matcher(line)).matches()) {
                String name = m.group(1);
                String type = family == null ? null : e.types.get(family);
                if (type == null) {
                    throw new AssertionError(where + "sample before its family's TYPE");
                }
                boolean belongs = name.equals(family) || (type.equals("summary")
                        && (name.equals(family + "_sum") || name.equals(family + "_count")));
                if (!belongs) {
                    throw new AssertionError(where + "sample of another family than " + family);
                }
                Map<String, String> labels = m.group(2) == null ? Map.of() : labels(m.group(2), where);
                if (type.equals("summary") && name.equals(family) && !labels.containsKey("quantile")) {
                    throw new AssertionError(where + "a summary's sample needs a quantile label");
                }
                if (!series.add(name + labels)) {
                    throw new AssertionError(where + "series given twice");
                }
                e.samples.add(new Sample(name, labels, value(m.group(3), where)));
            } else {
                throw new AssertionError(where + "neither a HELP or TYPE comment nor a sample");
            }
        }
        return e;
    }

    /** {@code {a="x",b="y"}}, with \\, \" and \n escapes in values. */
    private static Map<String, String> labels(String text, String where) {
        Map<String, String> labels = new LinkedHashMap<>();
        int i = 1;
        int end = text.length() - 1;
        while (i < end) {
            int eq = text.indexOf('=', i);
            if (eq < 0 || eq + 1 >= end || text.charAt(eq + 1) != '"') {
                throw new AssertionError(where + "expected name=\"value\" at " + i);
            }
            String name = text.substring(i, eq);
            if (!LABEL_NAME.matcher(name).matches()) {
                throw new AssertionError(where + "bad label name '" + name + "'");
            }
            StringBuilder value = new StringBuilder();
            int j = eq + 2;
            while (true) {
                if (j >= end) {
                    throw new AssertionError(where + "unterminated label value");
                }
                char c = text.charAt(j++);
                if (c == '"') {
                    break;
                }
                if (c == '\\') {
                    char next = text.charAt(j++);
                    switch (next) {
                        case '\\' -> value.append('\\');
                        case '"' -> value.append('"');
                        case 'n' -> value.append('\n');
                        default -> throw new AssertionError(where + "bad escape \\" + next);
                    }
                } else if (c == '\n') {
                    throw new AssertionError(where + "raw line feed in a label value");
                } else {
                    value.append(c);
                }
            }
            if (labels.put(name, value.toString()) != null) {
                throw new AssertionError(where + "label " + name + " twice");
            }
            if (j < end) {
                if (text.charAt(j) != ',') {
                    throw new AssertionError(where + "expected ',' at " + j);
                }
                j++;
            }
            i = j;
        }
        return labels;
    }

    private static String unescape(String text, boolean labelValue, String where) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\') {
                if (i + 1 >= text.length()) {
                    throw new AssertionError(where + "dangling backslash");
                }
                char next = text.charAt(++i);
                if (next == '\\') {
                    sb.append('\\');
                } else if (next == 'n') {
                    sb.append('\n');
                } else if (next == '"' && labelValue) {
                    sb.append('"');
                } else {
                    throw new AssertionError(where + "bad escape \\" + next);
                }
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static double value(String text, String where) {
        switch (text) {
            case "NaN":
                return Double.NaN;
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            default:
                try {
                    return Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    throw new AssertionError(where + "bad value '" + text + "'");
                }
        }
    }

    /** The value of the one sample with this name and these labels (a subset is enough); fails if not one. */
    double value(String name, String... labels) {
        List<Sample> found = new ArrayList<>();
        for (Sample s : samples) {
            boolean match = s.name().equals(name);
            for (int i = 0; match && i < labels.length; i += 2) {
                match = labels[i + 1].equals(s.labels().get(labels[i]));
            }
            if (match) {
                found.add(s);
            }
        }
        if (found.size() != 1) {
            throw new AssertionError("expected one sample " + name + " " + List.of(labels) + ", found " + found);
        }
        return found.get(0).value();
    }
}
