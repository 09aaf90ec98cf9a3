/** JMH benchmarks of magent's hot path. */
package dev.magent.bench;
