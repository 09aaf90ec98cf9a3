package dev.magent.core.admin;

/**
 * Writes Prometheus' text exposition format, version 0.0.4: for each metric family one {@code # HELP} and
 * one {@code # TYPE} line, then its samples as {@code name{label="value",...} number}, one per line.
 *
 * <p>Hand-written rather than taken from the Prometheus Java client or Micrometer: magent exposes about
 * twenty families of plain numbers it already keeps (LongAdders and its own latency histogram), read when
 * scraped. A client library would bring its own registry, metric objects to mirror the counters into
 * (or collector callbacks) and a few hundred kilobytes of jars into the daemon, to produce the same lines.
 * What the format demands of a writer is small and is all here: escaping of label values ({@code \},
 * {@code "}, newline) and of help text ({@code \}, newline), counters named {@code _total}, and numbers as
 * Go's {@code ParseFloat} reads them ({@code NaN}, {@code +Inf}, {@code -Inf} included).
 *
 * <p>Not thread-safe: one per scrape.
 *
 * @see <a href="https://github.com/prometheus/docs/blob/main/content/docs/instrumenting/exposition_formats.md">Exposition
 *     formats</a>
 */
final class PrometheusText {
    /** The Content-Type of this format. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The metric types of the format. */
    enum Type { COUNTER, GAUGE, SUMMARY }

    private final StringBuilder out = new StringBuilder(8192);

    /**
     * Starts a metric family; its samples follow.
     *
     * @param name a metric name ({@code [a-zA-Z_:][a-zA-Z0-9_:]*}); a counter's ends in {@code _total}
     */
    PrometheusText family(String name, Type type, String help) {
        checkName(name, true);
        if (type == Type.COUNTER && !name.endsWith("_total")) {
            throw new IllegalArgumentException("a counter's name ends in _total: " + name);
        }
        out.append("# HELP ").append(name).append(' ');
        escape(help, false);
        out.append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type.name().toLowerCase()).append('\n');
        return this;
    }

    /**
     * One sample.
     *
     * @param labels label names and values, alternating: {@code "server", "10.0.0.1:11211", "role", "main"}
     */
    PrometheusText sample(String name, double value, String... labels) {
        appendSeries(name, labels);
        out.append(format(value)).append('\n');
        return this;
    }

    /** One sample with a whole-number value, written without a fraction. */
    PrometheusText sample(String name, long value, String... labels) {
        appendSeries(name, labels);
        out.append(value).append('\n');
        return this;
    }

    private void appendSeries(String name, String[] labels) {
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs");
        }
        out.append(name);
        if (labels.length > 0) {
            out.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                checkName(labels[i], false);
                out.append(i == 0 ? "" : ",").append(labels[i]).append("=\"");
                escape(labels[i + 1], true);
                out.append('"');
            }
            out.append('}');
        }
        out.append(' ');
    }

    /** Label values escape {@code \}, {@code "} and newline; help text only {@code \} and newline. */
    private void escape(String text, boolean labelValue) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '"' -> out.append(labelValue ? "\\\"" : "\"");
                default -> out.append(c);
            }
        }
    }

    static String format(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "+Inf" : "-Inf";
        }
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            return Long.toString((long) value);
        }
        double magnitude = Math.abs(value);
        if (magnitude >= 1e-6 && magnitude < 1e15) {
            // 1795596818.412 rather than 1.795596818412E9: the same number to Prometheus, easier to read
            return java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
        }
        return Double.toString(value);
    }

    /** Metric names may hold colons (recording rules use them), label names may not. */
    private static void checkName(String name, boolean metric) {
        boolean ok = !name.isEmpty();
        for (int i = 0; ok && i < name.length(); i++) {
            char c = name.charAt(i);
            ok = c == '_' || (metric && c == ':') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || (i > 0 && c >= '0' && c <= '9');
        }
        if (!ok) {
            throw new IllegalArgumentException("not a metric or label name: '" + name + "'");
        }
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
