package dev.mxd.bench.regress;

/** A file or argument the regression runs cannot use; the message names it and says what is wrong (exit code 2). */
final class BadInputException extends RuntimeException {
    BadInputException(String message) {
        super(message);
    }

    BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
