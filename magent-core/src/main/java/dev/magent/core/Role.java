package dev.magent.core;

/** What a backend server is for: a main holds its shard, a backup holds a copy of every key. */
public enum Role {
    MAIN,
    BACKUP;

    /** Lower-case name as shown in stats. */
    public String label() {
        return this == MAIN ? "main" : "backup";
    }
}
