package dev.magent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The chaos soak's short form (about 2.5 minutes) on the how-to's three hosts; {@code -Dsoak.minutes=N}
 * runs the long form. Asserts what magent guarantees today: no acknowledged write lost while a copy stayed
 * up; the long form also no bogus value (see the test). Stale reads across proxies (issue 15), lost increments, and deleted keys that
 * read-repair brought back (issue 12; docs/partitions.md) are counted and reported, not yet asserted.
 * The report goes to stdout and {@code target/partition-soak.txt}.
 */
class PartitionSoakIT {
    @Test
    void chaosLosesNoAcknowledgedWrite() throws Exception {
        Optional<String> why = NetnsTopology.unavailable();
        Assumptions.assumeTrue(why.isEmpty(), () -> "PartitionSoakIT needs network namespaces: " + why.orElse(""));
        String minutes = System.getProperty("soak.minutes", "");
        PartitionSoak.Settings settings = minutes.isBlank()
                ? PartitionSoak.Settings.shortForm() : PartitionSoak.Settings.minutes(Double.parseDouble(minutes));
        PartitionSoak.Result r;
        try (NetnsTopology t = NetnsTopology.up(PartitionSoak.MAGENT_ARGS)) {
            r = new PartitionSoak(t, settings).run();
        }
        String report = PartitionSoak.report(r);
        System.out.print(report);
        write(Path.of("target", "partition-soak.txt"), report);
        assertEquals(0, r.lostAckedWrites(), "acknowledged writes lost:\n" + report);
        // Bogus values (an incr reply above every increment sent, 24 in a 30-minute run, all after a heal:
        // docs/partitions.md, finding 3) are not understood yet; the short form in CI reports them instead of
        // failing on a rare one, the long form by hand asserts them.
        if (!minutes.isBlank()) {
            assertEquals(0, r.bogus(), "values never written were read:\n" + report);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            System.out.println("could not write " + file + ": " + e.getMessage());
        }
    }
}
