package dev.magent.core.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {

    @Test
    void writesHelpTypeAndSamples() {
        String text = new PrometheusText()
                .family("magent_failovers_total", PrometheusText.Type.COUNTER, "Failovers.")
                .sample("magent_failovers_total", 3)
                .family("magent_server_up", PrometheusText.Type.GAUGE, "Up.")
                .sample("magent_server_up", 1, "server", "10.0.0.1:11211", "role", "main")
                .toString();
        assertEquals("""
                # HELP magent_failovers_total Failovers.
                # TYPE magent_failovers_total counter
                magent_failovers_total 3
                # HELP magent_server_up Up.
                # TYPE magent_server_up gauge
                magent_server_up{server="10.0.0.1:11211",role="main"} 1
                """, text);
    }

    @Test
    void escapesLabelValuesAndHelpAsTheFormatSays() {
        String nasty = "a\\b\"c\nd";
        String text = new PrometheusText()
                .family("x", PrometheusText.Type.GAUGE, "help with \\ and \" and\nnewline")
                .sample("x", 1, "v", nasty)
                .toString();
        assertEquals("""
                # HELP x help with \\\\ and " and\\nnewline
                # TYPE x gauge
                x{v="a\\\\b\\"c\\nd"} 1
                """, text);
        Exposition parsed = Exposition.parse(text);
        assertEquals(Map.of("v", nasty), parsed.samples.get(0).labels());
        assertEquals("help with \\ and \" and\nnewline", parsed.help.get("x"));
    }

    @Test
    void numbersAsPrometheusReadsThem() {
        assertEquals("NaN", PrometheusText.format(Double.NaN));
        assertEquals("+Inf", PrometheusText.format(Double.POSITIVE_INFINITY));
        assertEquals("-Inf", PrometheusText.format(Double.NEGATIVE_INFINITY));
        assertEquals("2", PrometheusText.format(2.0));
        assertEquals("0.00015", PrometheusText.format(0.00015));
        assertEquals("1795596818.412", PrometheusText.format(1795596818.412));
        assertEquals("1.0E-9", PrometheusText.format(1e-9));
        assertEquals("1.0E20", PrometheusText.format(1e20));
        for (double v : new double[] {0.00015, 1795596818.412, 1e-9, 1e20, -3.25, 0.999}) {
            assertEquals(v, Double.parseDouble(PrometheusText.format(v)));
        }
    }

    @Test
    void refusesWhatTheFormatForbids() {
        PrometheusText t = new PrometheusText();
        assertThrows(IllegalArgumentException.class, () -> t.family("requests", PrometheusText.Type.COUNTER, "no _total"));
        assertThrows(IllegalArgumentException.class, () -> t.family("9lives", PrometheusText.Type.GAUGE, "digit first"));
        assertThrows(IllegalArgumentException.class, () -> t.sample("x", 1, "bad-label", "v"));
        assertThrows(IllegalArgumentException.class, () -> t.sample("x", 1, "odd"));
    }

    @Test
    void theTestParserRejectsMalformedLines() {
        assertThrows(AssertionError.class, () -> Exposition.parse("x 1\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x gauge\nx{a=\"b} 1\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x counter\nx 1\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x gauge\nx one\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x gauge\nx 1\nx 2\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x gauge\ny 1\n"));
        assertThrows(AssertionError.class, () -> Exposition.parse("# HELP x h\n# TYPE x gauge\nx 1"));
    }
}
