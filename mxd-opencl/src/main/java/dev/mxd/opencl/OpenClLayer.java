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
import static org.lwjgl.opencl.CL10.clSetKernelArg1i;
import static org.lwjgl.opencl.CL10.clSetKernelArg1p;
import static org.lwjgl.opencl.CL10.nclEnqueueMapBuffer;
import static org.lwjgl.opencl.CL10.nclEnqueueUnmapMemObject;
import static org.lwjgl.opencl.CL12.CL_MAP_WRITE_INVALIDATE_REGION;

import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.IntBuffer;
import java.util.concurrent.locks.ReentrantLock;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * An MxD, TC or STC layer on one OpenCL device.
 *
 * <p>At load the layer creates its own context, in-order queue and program (built for this config's
 * activation, GLU, skip and kind), and uploads the weights once, packed so that every GEMM reads a
 * row-major [depth, cols] right-hand side: {@code W_enc} [I, H] as is, {@code W_glu.weight}ᵀ [I, H],
 * {@code W_dec} [H, O] as is, {@code gate}ᵀ [I, N], {@code C = W_cond}ᵀ [N, O] (rows gathered by
 * {@code Cᵀa}), {@code W_skip.weight}ᵀ [I, O]. The model is not read after load.
 *
 * <p>A call runs entirely on the device: MxD encode is {@code partial_topk} (gate GEMM, relu, running
 * top-K per token) and, with more than one expert slice, {@code merge_topk}; TC/STC encode is
 * {@code encoder} then the same two TopK kernels over z. Decode is {@code encoder} (MxD only),
 * {@code gather_rows} and {@code decoder}. The fused forward keeps the codes on the device between the
 * two steps, so it equals encode followed by decode bit for bit.
 *
 * <p>Threads: calls are serialised on a lock (one in-order queue, device scratch buffers reused and grown
 * across calls); concurrent callers wait for each other. {@link #close()} waits for a running call, then
 * releases every OpenCL object in reverse order of creation.
 */
final class OpenClLayer extends MxdLayer {
    /** Upper bound on expert slices of the TopK, so the merge's cursors fit in 4 KiB of local memory. */
    private static final int MAX_SLICES = 1024;

    private final ClDevice device;
    private final KernelGeometry geometry;
    private final int in, hidden, out, k, codeSpace;
    private final boolean mxd;

    private final ReentrantLock lock = new ReentrantLock();
    private boolean released; // guarded by lock

    private final ClObjects objects = new ClObjects();
    private final long context;
    private final long queue;
    private final long encoder, decoder, gather, partialTopk, mergeTopk;
    private final boolean topkListsLocal;
    // weights, packed at load; 0 where the config has no such tensor
    private final long wEnc, bEnc, wGluT, bGlu, wDec, gateT, gateBias, cRows, wSkipT, bDecOut;
    // scratch, grown on demand and reused across calls
    private final Scratch x, z, m, y, codeIdx, codeVal, partVal, partIdx;

    /**
     * Builds the kernels and uploads the weights of {@code model}.
     *
     * @param geometry       the tile shape to build the kernels with ({@link KernelGeometry#forDevice})
     * @param topkLocalBytes the local memory the TopK lists may assume (the device's, or less to force the
     *                       global-memory lists in tests)
     * @throws ClBuildException        when the device's compiler rejects the kernels (with its log)
     * @throws GroupTooLargeException when a kernel cannot run with the geometry's work-group size
     * @throws ClException             when another OpenCL call fails; nothing created so far outlives the call
     */
    OpenClLayer(MxdModel model, ClDevice device, KernelGeometry geometry, long topkLocalBytes) {
        super(model.config(), OpenClBackend.NAME);
        MxdConfig cfg = model.config();
        this.device = device;
        this.geometry = geometry;
        this.in = cfg.inputDim();
        this.hidden = cfg.hiddenDim();
        this.out = cfg.outputDim();
        this.k = cfg.k();
        this.codeSpace = cfg.codeSpace();
        this.mxd = cfg.kind() == Kind.MXD;
        this.topkListsLocal = geometry.topkListsFitLocal(k, topkLocalBytes);
        this.x = new Scratch("x [T, I]");
        this.z = new Scratch("z [T, H]");
        this.m = new Scratch("m [T, O]");
        this.y = new Scratch("y [T, O]");
        this.codeIdx = new Scratch("code indices [T, width]");
        this.codeVal = new Scratch("code values [T, width]");
        this.partIdx = new Scratch("partial top-K indices [T, slices, K]");
        this.partVal = new Scratch("partial top-K values [T, slices, K]");
        try {
            model.tensors(); // a closed model fails here, before anything is created
            context = objects.context(device);
            queue = objects.queue(context, device);
            long program = KernelProgram.build(objects, context, device, KernelProgram.backendSources(),
                    KernelProgram.options(geometry, cfg, topkListsLocal));
            encoder = KernelProgram.kernel(objects, program, "encoder");
            decoder = KernelProgram.kernel(objects, program, "decoder");
            gather = KernelProgram.kernel(objects, program, "gather_rows");
            partialTopk = KernelProgram.kernel(objects, program, "partial_topk");
            mergeTopk = KernelProgram.kernel(objects, program, "merge_topk");
            requireGroupSize(encoder, "encoder", geometry.groupSize());
            requireGroupSize(decoder, "decoder", geometry.groupSize());
            requireGroupSize(partialTopk, "partial_topk", geometry.groupSize());
            requireGroupSize(gather, "gather_rows", geometry.groupSize());
            requireGroupSize(mergeTopk, "merge_topk", geometry.mergeGroup());

            wEnc = upload(context, model, "W_enc", false);
            bEnc = upload(context, model, "b_enc", false);
            wGluT = cfg.glu() ? upload(context, model, "W_glu.weight", true) : 0;
            bGlu = cfg.glu() ? upload(context, model, "W_glu.bias", false) : 0;
            wDec = upload(context, model, "W_dec", false);
            gateT = mxd ? upload(context, model, "gate", true) : 0;
            gateBias = mxd ? upload(context, model, "gate_bias", false) : 0;
            cRows = mxd ? upload(context, model, "W_cond", true) : 0;
            wSkipT = cfg.skip() ? upload(context, model, "W_skip.weight", true) : 0;
            bDecOut = upload(context, model, "b_dec_out", false);
        } catch (RuntimeException | Error e) {
            try {
                objects.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    protected void forwardImpl(MemorySegment xs, int tokens, MemorySegment ys, Codes codes) {
        lock.lock();
        try {
            ensureLive();
            long[] idxVal = uploadAndEncode(xs, tokens);
            decodeOnDevice(tokens, k, idxVal[0], idxVal[1]);
            download(idxVal[0], codes.indexSegment());
            download(idxVal[1], codes.valueSegment());
            download(y.handle, ys);
        } finally {
            lock.unlock();
        }
    }

    @Override
    protected void encodeImpl(MemorySegment xs, int tokens, Codes codes) {
        lock.lock();
        try {
            ensureLive();
            long[] idxVal = uploadAndEncode(xs, tokens);
            download(idxVal[0], codes.indexSegment());
            download(idxVal[1], codes.valueSegment());
        } finally {
            lock.unlock();
        }
    }

    /** Uploads x and enqueues the code selection; returns the device buffers {index, value} of the codes. */
    private long[] uploadAndEncode(MemorySegment xs, int tokens) {
        upload(x.ensure((long) tokens * in * Float.BYTES), xs);
        long idx = codeIdx.ensure((long) tokens * k * Integer.BYTES);
        long val = codeVal.ensure((long) tokens * k * Float.BYTES);
        encodeOnDevice(tokens, idx, val);
        return new long[] {idx, val};
    }

    @Override
    protected void decodeImpl(MemorySegment xs, int tokens, Codes codes, MemorySegment ys) {
        lock.lock();
        try {
            ensureLive();
            upload(x.ensure((long) tokens * in * Float.BYTES), xs);
            long idx = codeIdx.ensure((long) tokens * codes.width() * Integer.BYTES);
            long val = codeVal.ensure((long) tokens * codes.width() * Float.BYTES);
            upload(idx, codes.indexSegment());
            upload(val, codes.valueSegment());
            decodeOnDevice(tokens, codes.width(), idx, val);
            download(y.handle, ys);
        } finally {
            lock.unlock();
        }
    }

    @Override
    protected void closeImpl() {
        lock.lock();
        try {
            if (released) {
                return;
            }
            released = true;
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
        } finally {
            lock.unlock();
        }
    }

    /** Which kernels build options were chosen: for tests and the benchmark report. */
    boolean topkListsLocal() {
        return topkListsLocal;
    }

    private void ensureLive() {
        if (released) {
            throw new IllegalStateException("this MxdLayer (backend opencl) is closed");
        }
    }

    /** Codes [tokens, K] into idx/val: the top K of relu(gate) (MxD) or of z (TC, STC). x is on the device. */
    private void encodeOnDevice(int tokens, long idx, long val) {
        long scores;
        int depth, cols;
        if (mxd) {
            scores = x.handle;
            depth = in;
            cols = codeSpace;
        } else {
            runEncoder(tokens);
            scores = z.handle;
            depth = 0;
            cols = hidden;
        }
        int blocks = Math.ceilDiv(tokens, geometry.tileM());
        int chunks = Math.ceilDiv(cols, geometry.tileN());
        // Enough work-groups to fill the device: split the columns into slices when there are few token blocks.
        int target = Math.max(16, 8 * device.computeUnits());
        int slices = Math.clamp(Math.ceilDiv(target, blocks), 1, Math.min(chunks, MAX_SLICES));
        int chunksPerSlice = Math.ceilDiv(chunks, slices);
        slices = Math.ceilDiv(chunks, chunksPerSlice);
        long partValues = slices == 1 ? val : partVal.ensure((long) tokens * slices * k * Float.BYTES);
        long partIndices = slices == 1 ? idx : partIdx.ensure((long) tokens * slices * k * Integer.BYTES);

        Args args = new Args(partialTopk, "partial_topk").buffers(scores, gateT, gateBias)
                .ints(tokens, depth, cols, k, chunksPerSlice * geometry.tileN()).buffers(partValues, partIndices);
        if (topkListsLocal) {
            args.local((long) geometry.tileM() * k * Float.BYTES).local((long) geometry.tileM() * k * Integer.BYTES);
        }
        launch(partialTopk, "partial_topk", (long) slices * geometry.localN(), (long) blocks * geometry.localM(),
                geometry.localN(), geometry.localM());

        if (slices > 1) {
            int group = Math.min(geometry.mergeGroup(), Integer.highestOneBit(slices - 1) << 1);
            new Args(mergeTopk, "merge_topk").buffers(partValues, partIndices).ints(slices, k).buffers(val, idx)
                    .local((long) slices * Integer.BYTES);
            launch(mergeTopk, "merge_topk", (long) tokens * group, 1, group, 1);
        }
    }

    /** y [tokens, O] from codes [tokens, width] already on the device; x is on the device. */
    private void decodeOnDevice(int tokens, int width, long idx, long val) {
        if (mxd) {
            runEncoder(tokens);
        }
        long mBuffer = m.ensure((long) tokens * out * Float.BYTES);
        new Args(gather, "gather_rows").buffers(idx, val).ints(width).buffers(mxd ? cRows : wDec, mBuffer)
                .ints(tokens, out);
        int group = geometry.groupSize();
        launch(gather, "gather_rows", (long) Math.ceilDiv(out, group) * group, tokens, group, 1);

        long yBuffer = y.ensure((long) tokens * out * Float.BYTES);
        new Args(decoder, "decoder").buffers(mxd ? z.handle : 0, mxd ? wDec : 0, mBuffer, x.handle, wSkipT, bDecOut, yBuffer)
                .ints(tokens, in, hidden, out);
        launchTiles(decoder, "decoder", tokens, out);
    }

    /** z [tokens, H] = act(x·W_enc + b_enc) [⊙ GLU]; x is on the device. */
    private void runEncoder(int tokens) {
        long zBuffer = z.ensure((long) tokens * hidden * Float.BYTES);
        new Args(encoder, "encoder").buffers(x.handle, wEnc, bEnc, wGluT, bGlu, zBuffer).ints(tokens, in, hidden);
        launchTiles(encoder, "encoder", tokens, hidden);
    }

    // ---- OpenCL plumbing -------------------------------------------------------------------------------

    private void launchTiles(long kernel, String name, int rows, int cols) {
        launch(kernel, name, (long) Math.ceilDiv(cols, geometry.tileN()) * geometry.localN(),
                (long) Math.ceilDiv(rows, geometry.tileM()) * geometry.localM(), geometry.localN(), geometry.localM());
    }

    private void launch(long kernel, String name, long global0, long global1, long local0, long local1) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer global = stack.mallocPointer(2).put(0, global0).put(1, global1);
            PointerBuffer local = stack.mallocPointer(2).put(0, local0).put(1, local1);
            ClException.check(clEnqueueNDRangeKernel(queue, kernel, 2, null, global, local, null, null),
                    "clEnqueueNDRangeKernel(" + name + ")");
        }
    }

    /** Sets a kernel's arguments in order; an error names the kernel and the argument's position. */
    private static final class Args {
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

        /** A {@code __local} buffer of {@code bytes}, allocated by the driver for each work-group. */
        Args local(long bytes) {
            ClException.check(clSetKernelArg(kernel, next, bytes), "clSetKernelArg(" + name + ", " + next + ", local)");
            next++;
            return this;
        }
    }

    private void upload(long buffer, MemorySegment from) {
        transfer(buffer, from, true);
    }

    private void download(long buffer, MemorySegment to) {
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

    private void requireGroupSize(long kernel, String name, int needed) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(clGetKernelWorkGroupInfo(kernel, device.device(), CL_KERNEL_WORK_GROUP_SIZE, size, null),
                    "clGetKernelWorkGroupInfo(" + name + ")");
            if (size.get(0) < needed) {
                throw new GroupTooLargeException("OpenCL device " + device.name() + " runs kernel " + name
                        + " with at most " + size.get(0) + " work-items per group; it was built for " + needed);
            }
        }
    }

    /**
     * Uploads one tensor read-only; {@code transpose} packs a [rows, cols] tensor as [cols, rows]. The packed
     * copy lives in a confined arena closed before this returns.
     */
    private long upload(long context, MxdModel model, String name, boolean transpose) {
        Tensor t = model.tensor(name);
        long bytes = t.elementCount() * Float.BYTES;
        if (bytes > device.maxAllocBytes()) {
            throw new MxdBackendException("tensor '" + name + "' " + t + " needs " + bytes + " bytes, more than the "
                    + device.maxAllocBytes() + " bytes OpenCL device " + device.name() + " allows in one buffer");
        }
        String label = transpose ? name + "ᵀ" : name;
        if (!transpose && t.data().isNative()) {
            return objects.buffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, t.data().address(), label);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment packed = arena.allocate(bytes, 64);
            if (transpose) {
                long[] shape = t.shape();
                transpose(t.data(), (int) shape[0], (int) shape[1], packed);
            } else {
                MemorySegment.copy(t.data(), 0, packed, 0, bytes);
            }
            return objects.buffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, packed.address(), label);
        }
    }

    /** to [cols, rows] = from [rows, cols]ᵀ, in 64 × 64 blocks to stay in cache on both sides. */
    static void transpose(MemorySegment from, int rows, int cols, MemorySegment to) {
        final int block = 64;
        for (int r0 = 0; r0 < rows; r0 += block) {
            for (int c0 = 0; c0 < cols; c0 += block) {
                int r1 = Math.min(rows, r0 + block), c1 = Math.min(cols, c0 + block);
                for (int r = r0; r < r1; r++) {
                    for (int c = c0; c < c1; c++) {
                        float v = from.getAtIndex(Tensor.F32_LE, (long) r * cols + c);
                        to.setAtIndex(Tensor.F32_LE, (long) c * rows + r, v);
                    }
                }
            }
        }
    }

    /** The device's compiler cannot run a kernel with the work-group size of the chosen geometry. */
    static final class GroupTooLargeException extends MxdBackendException {
        GroupTooLargeException(String message) {
            super(message);
        }
    }

    /** A device buffer of this layer, replaced by a larger one when a call needs more. */
    private final class Scratch {
        private final String label;
        private long handle;
        private long capacity;

        Scratch(String label) {
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
    }
}
