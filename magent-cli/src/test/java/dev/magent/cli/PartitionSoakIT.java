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
 * runs the long form. Asserts, under one fault at a time (docs/partitions.md): no acknowledged write lost
 * while a copy stayed up, no deleted key back, no value never written, and while a link is cut no stale
 * read, no miss and no lost increment through either proxy (a write that missed a copy is acknowledged
 * once every proxy can know). The few stale reads and lost increments left in recovery phases, and
 * errors (while magent52 is killed, the clients that pick it fail), are reported. The report goes to
 * stdout and {@code target/partition-soak.txt}.
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
        assertEquals(0, r.resurrectedDeletes(), "deleted keys back:\n" + report);
        assertEquals(0, r.bogus(), "values never written were read:\n" + report);
        // while a link is cut, no proxy reads what another failed over (issue 15): zero in every run so far
        assertEquals(0, r.badIn("cut "), "stale, missing or lost increments while a link was cut:\n" + report);
        // Recovery phases (heals, restarts) still show a few from races between two proxies' repairs (41
        // stale and 14 lost increments in a 30-minute run against 28,340 and 3,633 before the suspicion
        // records: docs/reliability.md): reported, not asserted, until those are closed.
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            System.out.println("could not write " + file + ": " + e.getMessage());
        }
    }
}
