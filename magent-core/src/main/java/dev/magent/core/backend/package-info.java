/**
 * The servers behind the proxy: {@code Cluster} (the main ring and each backup pool's ring),
 * {@code BackendServer} (health state, hints), {@code BackendPool} and {@code BackendConnection} (pipelined
 * connections with flow control), and the one send contract ({@code Backend}, {@code Completion}) that
 * routing and recovery both use, gated by health and hints in {@code GatedBackend}. Internal to magent-core.
 */
package dev.magent.core.backend;
