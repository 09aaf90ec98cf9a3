/**
 * magent's proxy core, as a library: start a proxy with {@link dev.magent.core.MagentProxy#start} from a
 * {@link dev.magent.core.ProxyConfig}, read its counters ({@link dev.magent.core.ProxyStats}), reload, resync
 * and shut it down. This package is the public API; the sub-packages are the layers behind it, public to
 * each other only because Java has no narrower visibility across packages, and may change in any release:
 *
 * <ul>
 *   <li>{@code frontend}: client connections: protocol sniffing, the pipeline of replies in request order,
 *       flow control towards the client, commands magent answers itself;</li>
 *   <li>{@code route}: what each command does: one small route per policy (replicated write, fail-over,
 *       read-repair, cas, arithmetic reconciliation, multi-get, broadcast, meta commands), composed per verb
 *       by the {@code Router};</li>
 *   <li>{@code backend}: servers, pools and connections, and the one send contract every caller uses
 *       ({@code Backend}), with health and hint gating as a wrapper ({@code GatedBackend});</li>
 *   <li>{@code recovery}: the health prober, hinted handoff, resync of a returning server, and the key copy
 *       they share with read-repair;</li>
 *   <li>{@code admin}: the HTTP endpoint ({@code /stats}, {@code /metrics}, {@code /health}).</li>
 * </ul>
 *
 * Data flows one way: bytes → command ({@code magent-protocol}) → route → backend → reply → bytes.
 */
package dev.magent.core;
