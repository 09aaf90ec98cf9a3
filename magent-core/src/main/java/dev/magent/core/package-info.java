/** The proxy core: routing, replication, backend pools, health. */
package dev.magent.core;
