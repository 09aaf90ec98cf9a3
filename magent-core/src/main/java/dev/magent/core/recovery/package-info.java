/**
 * Bringing a server back: the {@code HealthProber} (probes, restart detection by pid and start time),
 * the {@code HintLog} of keys a server missed, {@code Rejoin} (hint replay and full resync from the other
 * copies, paced by {@code Pacer}) and {@code KeyCopier}, the one copy of a key that read-repair and resync
 * share; anti-entropy ({@code Verifier}: {@code magent verify}, with the rule in {@code CopyComparison}),
 * which lists keys with the resync's {@code MetadumpScan}. Internal to magent-core.
 */
package dev.magent.core.recovery;
