package dev.magent.cli;

/** The magent daemon's entry point. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.err.println("magent: not yet implemented");
        System.exit(1);
    }
}
