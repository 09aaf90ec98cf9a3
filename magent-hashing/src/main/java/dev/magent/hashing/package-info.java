/** Key-to-server rings. STUB. */
package dev.magent.hashing;
