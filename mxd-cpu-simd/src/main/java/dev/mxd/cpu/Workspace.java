package dev.mxd.cpu;

import java.util.ArrayList;
import java.util.List;

/**
 * The scratch arrays of one call (or one participant's part of it), taken from {@link FloatArrays} and handed back
 * together when the workspace closes: open it with try-with-resources around the work, so the arrays' lifetime is
 * the block's. An array taken here holds whatever its last user left; callers write before they read.
 *
 * <p>Thread-safe: the participants of a {@link WorkerPool} call take their scratch from the call's workspace. No
 * array may be used after {@link #close()}.
 */
final class Workspace implements AutoCloseable {
    private final List<float[]> taken = new ArrayList<>();
    private boolean closed;

    /** An array of at least {@code length} floats, handed back on {@link #close()}. */
    synchronized float[] floats(int length) {
        if (closed) {
            throw new IllegalStateException("this workspace is closed");
        }
        float[] a = FloatArrays.take(length);
        taken.add(a);
        return a;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            for (float[] a : taken) {
                FloatArrays.give(a);
            }
            taken.clear();
        }
    }
}
