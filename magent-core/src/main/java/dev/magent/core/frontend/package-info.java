/**
 * Client connections: the protocol sniffer (text/meta or binary, from the first byte), the per-connection
 * handler that keeps replies in request order and paces the client (window, backlog, buffer limit), and
 * the commands magent answers without a backend. Internal to magent-core.
 */
package dev.magent.core.frontend;
