package dev.mxd.opencl;

import java.nio.IntBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongToIntFunction;
import org.lwjgl.PointerBuffer;
import org.lwjgl.opencl.CL10;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * The OpenCL objects one owner created, released in reverse order of creation on {@link #close()} (a kernel
 * before its program, buffers and programs before the queue, the context last).
 *
 * <p>A process-wide count of the objects created through this class and not yet released backs the leak
 * tests: after every layer is closed it must be back where it started. Not thread-safe: the owner
 * serialises access.
 */
final class ClObjects implements AutoCloseable {

    /** What a handle is, and the call that releases it. */
    enum Kind {
        CONTEXT("clReleaseContext", CL10::clReleaseContext),
        QUEUE("clReleaseCommandQueue", CL10::clReleaseCommandQueue),
        PROGRAM("clReleaseProgram", CL10::clReleaseProgram),
        KERNEL("clReleaseKernel", CL10::clReleaseKernel),
        BUFFER("clReleaseMemObject", CL10::clReleaseMemObject);

        private final String releaseCall;
        private final LongToIntFunction release;

        Kind(String releaseCall, LongToIntFunction release) {
            this.releaseCall = releaseCall;
            this.release = release;
        }
    }

    private record Entry(Kind kind, long handle, String label) {
    }

    private static final AtomicInteger LIVE = new AtomicInteger();

    private final Deque<Entry> created = new ArrayDeque<>();

    /** The number of objects created through any {@code ClObjects} and not yet released, process-wide. */
    static int live() {
        return LIVE.get();
    }

    /** Creates a context for {@code device} alone. */
    long context(ClDevice device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer properties = stack.mallocPointer(3).put(0, CL10.CL_CONTEXT_PLATFORM).put(1, device.platform()).put(2, 0);
            IntBuffer err = stack.mallocInt(1);
            long context = CL10.clCreateContext(properties, device.device(), null, 0, err);
            ClException.check(err.get(0), "clCreateContext(" + device.name() + ")");
            return add(Kind.CONTEXT, context, "context");
        }
    }

    /** Creates an in-order command queue on {@code device}. */
    long queue(long context, ClDevice device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long queue = CL10.clCreateCommandQueue(context, device.device(), 0, err);
            ClException.check(err.get(0), "clCreateCommandQueue(" + device.name() + ")");
            return add(Kind.QUEUE, queue, "queue");
        }
    }

    /**
     * Creates a buffer of {@code bytes} bytes; with {@code hostPointer} non-zero (and {@code CL_MEM_COPY_HOST_PTR}
     * in {@code flags}) it starts as a copy of that host memory.
     */
    long buffer(long context, long flags, long bytes, long hostPointer, String label) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long buffer = CL10.nclCreateBuffer(context, flags, bytes, hostPointer, MemoryUtil.memAddress(err));
            ClException.check(err.get(0), "clCreateBuffer(" + label + ", " + bytes + " bytes)");
            return add(Kind.BUFFER, buffer, label);
        }
    }

    /** Takes ownership of {@code handle} (non-zero) and returns it. */
    long add(Kind kind, long handle, String label) {
        if (handle == 0) {
            throw new IllegalArgumentException("null " + kind + " handle for " + label);
        }
        created.push(new Entry(kind, handle, label));
        LIVE.incrementAndGet();
        return handle;
    }

    /** Releases one object ahead of {@link #close()} (a buffer that is being replaced by a larger one). */
    void release(long handle) {
        for (Iterator<Entry> it = created.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.handle == handle) {
                it.remove();
                LIVE.decrementAndGet();
                ClException.check(e.kind.release.applyAsInt(e.handle), e.kind.releaseCall + "(" + e.label + ")");
                return;
            }
        }
        throw new IllegalArgumentException("handle 0x" + Long.toHexString(handle) + " is not owned here");
    }

    /**
     * Releases every object after a constructor failed with {@code failure}, which the caller rethrows: a release
     * that fails too is added to it as suppressed, so neither the objects nor the first error are lost.
     */
    void closeAfter(Throwable failure) {
        try {
            close();
        } catch (RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /**
     * Releases every object, newest first. A failing release does not stop the others; the first failure is
     * thrown at the end with the later ones suppressed.
     */
    @Override
    public void close() {
        ClException first = null;
        while (!created.isEmpty()) {
            Entry e = created.pop();
            LIVE.decrementAndGet();
            int err = e.kind.release.applyAsInt(e.handle);
            if (err != 0) {
                ClException failure = new ClException(e.kind.releaseCall + "(" + e.label + ")", err, "");
                if (first == null) {
                    first = failure;
                } else {
                    first.addSuppressed(failure);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
