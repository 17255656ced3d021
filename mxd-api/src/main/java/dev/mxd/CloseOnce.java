package dev.mxd;

/**
 * The closed state of an object whose {@code close()} releases its resources exactly once, whichever thread calls
 * it first and however often. Reads are volatile, so a call on another thread sees a close that happened before.
 */
final class CloseOnce {
    private volatile boolean closed;

    /** Whether {@link #close} has been called. */
    boolean isClosed() {
        return closed;
    }

    /** Marks the state closed; true for the first caller only, which then releases. */
    synchronized boolean close() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }
}
