package dev.magent.core.admin;

import dev.magent.core.Role;
import dev.magent.core.backend.BackendServer;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether every key has a copy the proxy can serve, the question a load balancer or a Kubernetes probe
 * asks. A key is served by its main while the main is up, and by its backup otherwise (see
 * docs/semantics.md). A down main's keys are spread over the backup ring, so they are all covered only
 * while every backup is up; without backups, a down main's keys are lost until it returns. A server that
 * is syncing does not serve reads yet, so it counts as not up.
 *
 * <p>A backup that is down while every main is up leaves the proxy healthy (every key is served) but
 * degraded: the report lists it. With several backup pools, a down main's keys are all covered while one
 * backup pool is wholly up.
 *
 * @param healthy     true when every key has a reachable copy
 * @param reason      one sentence saying why, for people reading the probe's output
 * @param notInService each server that is not up, as {@code "main 10.0.0.1:11211 down"}
 */
record HealthCheck(boolean healthy, String reason, List<String> notInService) {

    /** Judges the servers as they are now. */
    static HealthCheck of(List<BackendServer> servers) {
        List<String> mainsOut = new ArrayList<>();
        List<String> backupsOut = new ArrayList<>();
        int backups = 0;
        java.util.Set<Integer> backupPools = new java.util.HashSet<>();
        java.util.Set<Integer> poolsWithOneOut = new java.util.HashSet<>();
        for (BackendServer s : servers) {
            if (s.role() == Role.BACKUP) {
                backups++;
                backupPools.add(s.pool());
            }
            if (s.state() != BackendServer.State.UP) {
                (s.role() == Role.MAIN ? mainsOut : backupsOut).add(describe(s));
                poolsWithOneOut.add(s.pool());
            }
        }
        boolean aBackupPoolWhollyUp = !poolsWithOneOut.containsAll(backupPools);
        List<String> out = new ArrayList<>(mainsOut);
        out.addAll(backupsOut);
        if (mainsOut.isEmpty()) {
            return new HealthCheck(true, backupsOut.isEmpty() ? "every server is up"
                    : "every main is up; not copied while out: " + String.join(", ", backupsOut), out);
        }
        if (backups == 0) {
            return new HealthCheck(false, String.join(", ", mainsOut)
                    + " and there are no backups: its keys have no copy in service", out);
        }
        if (backupsOut.isEmpty() || aBackupPoolWhollyUp) {
            return new HealthCheck(true, String.join(", ", mainsOut) + ": its keys are served by the backups", out);
        }
        return new HealthCheck(false, String.join(", ", mainsOut) + " and " + String.join(", ", backupsOut)
                + ": some keys have no copy in service", out);
    }

    private static String describe(BackendServer s) {
        return s.role().label() + " " + s.address() + " " + s.state().name().toLowerCase();
    }
}
