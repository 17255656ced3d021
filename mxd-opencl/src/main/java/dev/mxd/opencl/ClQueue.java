package dev.mxd.opencl;

import static org.lwjgl.opencl.CL10.CL_KERNEL_WORK_GROUP_SIZE;
import static org.lwjgl.opencl.CL10.CL_MAP_READ;
import static org.lwjgl.opencl.CL10.CL_MEM_COPY_HOST_PTR;
import static org.lwjgl.opencl.CL10.CL_MEM_READ_ONLY;
import static org.lwjgl.opencl.CL10.CL_MEM_READ_WRITE;
import static org.lwjgl.opencl.CL10.clEnqueueNDRangeKernel;
import static org.lwjgl.opencl.CL10.clFinish;
import static org.lwjgl.opencl.CL10.clGetKernelWorkGroupInfo;
import static org.lwjgl.opencl.CL10.clSetKernelArg;
import static org.lwjgl.opencl.CL10.clSetKernelArg1f;
import static org.lwjgl.opencl.CL10.clSetKernelArg1i;
import static org.lwjgl.opencl.CL10.clSetKernelArg1p;
import static org.lwjgl.opencl.CL10.nclEnqueueMapBuffer;
import static org.lwjgl.opencl.CL10.nclEnqueueUnmapMemObject;
import static org.lwjgl.opencl.CL12.CL_MAP_WRITE_INVALIDATE_REGION;

import dev.mxd.MxdBackendException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.IntBuffer;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * A context with one in-order command queue on one device, and the calls every user of one makes: launches, kernel
 * arguments, copies between host memory and device buffers, scratch buffers that grow on demand. The context and
 * queue belong to the {@link ClObjects} given at creation (released when they close). Not thread-safe: the owner
 * serialises the calls.
 */
final class ClQueue {
    private final ClObjects objects;
    private final ClDevice device;
    private final long context;
    private final long queue;

    /** Creates the context and queue on {@code device}, owned by {@code objects}. */
    ClQueue(ClObjects objects, ClDevice device) {
        this.objects = objects;
        this.device = device;
        this.context = objects.context(device);
        this.queue = objects.queue(context, device);
    }

    long context() {
        return context;
    }

    long queue() {
        return queue;
    }

    /**
     * Waits for the queued work, then closes the {@link ClObjects} that own this queue (so everything its owner
     * created); a failure to wait is thrown after the objects are released.
     */
    void finishAndClose() {
        ClException finish = null;
        try {
            ClException.check(clFinish(queue), "clFinish");
        } catch (ClException e) {
            finish = e;
        }
        objects.close();
        if (finish != null) {
            throw finish;
        }
    }

    /**
     * A read-only buffer holding a copy of {@code host} (heap or native; a heap segment is staged through native
     * memory first), owned by the queue's {@link ClObjects}.
     *
     * @throws MxdBackendException when the copy is larger than the device allows in one buffer
     */
    long readOnly(MemorySegment host, String label) {
        long bytes = host.byteSize();
        if (bytes > device.maxAllocBytes()) {
            throw new MxdBackendException("'" + label + "' needs " + bytes + " bytes, more than the "
                    + device.maxAllocBytes() + " bytes OpenCL device " + device.name() + " allows in one buffer");
        }
        if (host.isNative()) {
            return objects.buffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, host.address(), label);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staged = arena.allocate(Math.max(bytes, Float.BYTES), 64);
            MemorySegment.copy(host, 0, staged, 0, bytes);
            return objects.buffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, staged.byteSize(),
                    staged.address(), label);
        }
    }

    /** A scratch buffer named {@code label} in messages, created on its first {@link Scratch#ensure}. */
    Scratch scratch(String label) {
        return new Scratch(label);
    }

    /**
     * Enqueues a 2-D launch of {@code kernel} (its arguments set); {@code local0 = 0} lets the driver choose the
     * work-group size.
     */
    void launch(long kernel, String name, long global0, long global1, long local0, long local1) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer global = stack.mallocPointer(2).put(0, global0).put(1, global1);
            PointerBuffer local = local0 == 0 ? null : stack.mallocPointer(2).put(0, local0).put(1, local1);
            ClException.check(clEnqueueNDRangeKernel(queue, kernel, 2, null, global, local, null, null),
                    "clEnqueueNDRangeKernel(" + name + ")");
        }
    }

    /**
     * Enqueues a GEMM-shaped kernel over C [rows, cols]: one work-group of {@code geometry} per TILE_M × TILE_N
     * tile.
     */
    void launchTiles(long kernel, String name, KernelGeometry geometry, int rows, int cols) {
        launch(kernel, name, (long) Math.ceilDiv(cols, geometry.tileN()) * geometry.localN(),
                (long) Math.ceilDiv(rows, geometry.tileM()) * geometry.localM(), geometry.localN(), geometry.localM());
    }

    /** Sets a kernel's arguments in order; an error names the kernel and the argument's position. */
    static final class Args {
        private final long kernel;
        private final String name;
        private int next;

        Args(long kernel, String name) {
            this.kernel = kernel;
            this.name = name;
        }

        /** Buffer arguments; a handle of 0 passes NULL, which OpenCL 1.2 allows for an unused pointer. */
        Args buffers(long... handles) {
            for (long h : handles) {
                ClException.check(clSetKernelArg1p(kernel, next, h), "clSetKernelArg(" + name + ", " + next + ")");
                next++;
            }
            return this;
        }

        Args ints(int... values) {
            for (int v : values) {
                ClException.check(clSetKernelArg1i(kernel, next, v), "clSetKernelArg(" + name + ", " + next + ")");
                next++;
            }
            return this;
        }

        Args floats(float... values) {
            for (float v : values) {
                ClException.check(clSetKernelArg1f(kernel, next, v), "clSetKernelArg(" + name + ", " + next + ")");
                next++;
            }
            return this;
        }

        /** A {@code __local} buffer of {@code bytes}, allocated by the driver for each work-group. */
        Args local(long bytes) {
            ClException.check(clSetKernelArg(kernel, next, bytes), "clSetKernelArg(" + name + ", " + next + ", local)");
            next++;
            return this;
        }
    }

    /** Copies {@code from} to the start of {@code buffer}. */
    void upload(long buffer, MemorySegment from) {
        transfer(buffer, from, true);
    }

    /** Copies the start of {@code buffer} to {@code to}, after the queued kernels that write it. */
    void download(long buffer, MemorySegment to) {
        transfer(buffer, to, false);
    }

    /**
     * Copies {@code host.byteSize()} bytes between host memory (heap or native) and the start of a device
     * buffer, through a mapping of that region.
     */
    private void transfer(long buffer, MemorySegment host, boolean toDevice) {
        long bytes = host.byteSize();
        if (bytes == 0) {
            return;
        }
        MemorySegment mapped = map(buffer, toDevice ? CL_MAP_WRITE_INVALIDATE_REGION : CL_MAP_READ, bytes);
        if (toDevice) {
            MemorySegment.copy(host, 0, mapped, 0, bytes);
        } else {
            MemorySegment.copy(mapped, 0, host, 0, bytes);
        }
        unmap(buffer, mapped);
    }

    /** A blocking map: it waits for the queued kernels that write the buffer. */
    @SuppressWarnings("restricted") // the driver's mapping is valid for exactly `bytes` until the unmap
    private MemorySegment map(long buffer, long flags, long bytes) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long address = nclEnqueueMapBuffer(queue, buffer, 1, flags, 0, bytes, 0, 0, 0, MemoryUtil.memAddress(err));
            ClException.check(err.get(0), "clEnqueueMapBuffer(" + bytes + " bytes)");
            return MemorySegment.ofAddress(address).reinterpret(bytes);
        }
    }

    private void unmap(long buffer, MemorySegment mapped) {
        ClException.check(nclEnqueueUnmapMemObject(queue, buffer, mapped.address(), 0, 0, 0), "clEnqueueUnmapMemObject");
    }

    /**
     * @throws OpenClLayer.GroupTooLargeException when the device runs {@code kernel} with fewer than {@code needed}
     *                                            work-items per group
     */
    void requireGroupSize(long kernel, String name, int needed) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(clGetKernelWorkGroupInfo(kernel, device.device(), CL_KERNEL_WORK_GROUP_SIZE, size, null),
                    "clGetKernelWorkGroupInfo(" + name + ")");
            if (size.get(0) < needed) {
                throw new OpenClLayer.GroupTooLargeException("OpenCL device " + device.name() + " runs kernel " + name
                        + " with at most " + size.get(0) + " work-items per group; it was built for " + needed);
            }
        }
    }

    /** A device buffer of the queue's owner, replaced by a larger one when a call needs more. */
    final class Scratch {
        private final String label;
        private long handle;
        private long capacity;

        private Scratch(String label) {
            this.label = label;
        }

        /** The buffer, at least {@code bytes} long (and never empty, which OpenCL forbids). */
        long ensure(long bytes) {
            long need = Math.max(bytes, Float.BYTES);
            if (need > capacity) {
                if (need > device.maxAllocBytes()) {
                    throw new MxdBackendException("buffer " + label + " needs " + need + " bytes, more than the "
                            + device.maxAllocBytes() + " bytes OpenCL device " + device.name()
                            + " allows in one buffer; pass fewer tokens per call");
                }
                // Grow by half again so that slowly growing batches do not reallocate every call.
                long grown = Math.min(device.maxAllocBytes(), Math.max(need, capacity + capacity / 2));
                if (handle != 0) {
                    long old = handle;
                    handle = 0;
                    capacity = 0;
                    objects.release(old);
                }
                handle = objects.buffer(context, CL_MEM_READ_WRITE, grown, 0, label);
                capacity = grown;
            }
            return handle;
        }

        /** The current buffer (0 before the first {@link #ensure}). */
        long handle() {
            return handle;
        }
    }
}
