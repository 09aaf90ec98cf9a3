package dev.magent.cli;

/**
 * A command line that cannot be run: a bad flag, a bad value, a missing server. The message is one line
 * for the user, without the {@code magent: } prefix.
 */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message, null, false, false);
    }
}
