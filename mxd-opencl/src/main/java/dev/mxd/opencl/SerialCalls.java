package dev.mxd.opencl;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The calls of one owner of an in-order queue (a layer, a set of dense operations), one at a time: the queue and the
 * scratch buffers grown on it are shared by every call, so calls from several threads take turns. Once released, a
 * call is refused here: the owner's own closed check comes before this lock, so a call can race past it with
 * {@code close()}.
 */
final class SerialCalls {
    private final ReentrantLock lock = new ReentrantLock();
    private final String closedMessage;
    private boolean released; // guarded by lock

    /** @param closedMessage what a call after release is told, e.g. "this MxdLayer (backend opencl) is closed" */
    SerialCalls(String closedMessage) {
        this.closedMessage = closedMessage;
    }

    /**
     * Runs {@code call} alone.
     *
     * @throws IllegalStateException when released
     */
    void run(Runnable call) {
        get(() -> {
            call.run();
            return null;
        });
    }

    /**
     * Runs {@code call} alone and returns its result.
     *
     * @throws IllegalStateException when released
     */
    <T> T get(Supplier<T> call) {
        lock.lock();
        try {
            if (released) {
                throw new IllegalStateException(closedMessage);
            }
            return call.get();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code release} once, after the call in progress; every later call is refused. */
    void release(Runnable release) {
        lock.lock();
        try {
            if (!released) {
                released = true;
                release.run();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code action} alone unless released (it frees what the owner's release would free anyway). */
    void unlessReleased(Runnable action) {
        lock.lock();
        try {
            if (!released) {
                action.run();
            }
        } finally {
            lock.unlock();
        }
    }
}
