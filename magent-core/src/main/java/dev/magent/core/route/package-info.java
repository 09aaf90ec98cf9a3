/**
 * Routing policy, one small class per rule: {@code ReplicatedWrite} (every copy, hints for the ones out of
 * service), {@code ReadRoute} and {@code Failover} (main first, then each copy in order), {@code ReadRepair}
 * (refill a copy that missed), {@code CasRoute}, {@code ArithmeticRoute}, {@code MultiGet},
 * {@code BroadcastRoute} and the stats fan-out; the meta protocol's {@code MetaRoutes} composes the same
 * rules ({@code MetaRead}, {@code MetaCas}, {@code MetaArithmetic}, and {@code ReplicatedWrite}). The
 * {@code Router} picks the route for each verb; routes see servers only through the send contract of
 * {@code dev.magent.core.backend}. Internal to magent-core.
 */
package dev.magent.core.route;
