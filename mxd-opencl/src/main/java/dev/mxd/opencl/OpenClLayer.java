package dev.mxd.opencl;

import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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
    private final ClDevice device;
    private final KernelGeometry geometry;
    private final int in, hidden, out, k, codeSpace;
    private final boolean mxd;

    private final SerialCalls calls = new SerialCalls("this MxdLayer (backend " + OpenClBackend.NAME + ") is closed");

    private final ClObjects objects = new ClObjects();
    private final ClQueue cl;
    private final long context;
    private final long encoder, decoder, gather;
    private final CodeSelection selection;
    private final boolean topkListsLocal;
    // weights, packed at load; 0 where the config has no such tensor
    private final long wEnc, bEnc, wGluT, bGlu, wDec, gateT, gateBias, cRows, wSkipT, bDecOut;
    // scratch, grown on demand and reused across calls
    private final ClQueue.Scratch x, z, m, y, codeIdx, codeVal;

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
        try {
            model.tensors(); // a closed model fails here, before anything is created
            cl = new ClQueue(objects, device);
            context = cl.context();
            this.x = cl.scratch("x [T, I]");
            this.z = cl.scratch("z [T, H]");
            this.m = cl.scratch("m [T, O]");
            this.y = cl.scratch("y [T, O]");
            this.codeIdx = cl.scratch("code indices [T, width]");
            this.codeVal = cl.scratch("code values [T, width]");
            long program = KernelProgram.build(objects, context, device, KernelProgram.backendSources(),
                    KernelProgram.options(geometry, cfg, topkListsLocal));
            encoder = KernelProgram.kernel(objects, program, "encoder");
            decoder = KernelProgram.kernel(objects, program, "decoder");
            gather = KernelProgram.kernel(objects, program, "gather_rows");
            cl.requireGroupSize(encoder, "encoder", geometry.groupSize());
            cl.requireGroupSize(decoder, "decoder", geometry.groupSize());
            cl.requireGroupSize(gather, "gather_rows", geometry.groupSize());
            selection = new CodeSelection(cl, device, geometry, program, topkListsLocal, objects);

            wEnc = upload(model, "W_enc", false);
            bEnc = upload(model, "b_enc", false);
            wGluT = cfg.glu() ? upload(model, "W_glu.weight", true) : 0;
            bGlu = cfg.glu() ? upload(model, "W_glu.bias", false) : 0;
            wDec = upload(model, "W_dec", false);
            gateT = mxd ? upload(model, "gate", true) : 0;
            gateBias = mxd ? upload(model, "gate_bias", false) : 0;
            cRows = mxd ? upload(model, "W_cond", true) : 0;
            wSkipT = cfg.skip() ? upload(model, "W_skip.weight", true) : 0;
            bDecOut = upload(model, "b_dec_out", false);
        } catch (RuntimeException | Error e) {
            objects.closeAfter(e);
            throw e;
        }
    }

    @Override
    protected void forwardImpl(MemorySegment xs, int tokens, MemorySegment ys, Codes codes) {
        calls.run(() -> {
            long[] idxVal = uploadAndEncode(xs, tokens);
            decodeOnDevice(tokens, k, idxVal[0], idxVal[1]);
            cl.download(idxVal[0], codes.indexSegment());
            cl.download(idxVal[1], codes.valueSegment());
            cl.download(y.handle(), ys);
        });
    }

    @Override
    protected void encodeImpl(MemorySegment xs, int tokens, Codes codes) {
        calls.run(() -> {
            long[] idxVal = uploadAndEncode(xs, tokens);
            cl.download(idxVal[0], codes.indexSegment());
            cl.download(idxVal[1], codes.valueSegment());
        });
    }

    /** Uploads x and enqueues the code selection; returns the device buffers {index, value} of the codes. */
    private long[] uploadAndEncode(MemorySegment xs, int tokens) {
        cl.upload(x.ensure((long) tokens * in * Float.BYTES), xs);
        long idx = codeIdx.ensure((long) tokens * k * Integer.BYTES);
        long val = codeVal.ensure((long) tokens * k * Float.BYTES);
        encodeOnDevice(tokens, idx, val);
        return new long[] {idx, val};
    }

    @Override
    protected void decodeImpl(MemorySegment xs, int tokens, Codes codes, MemorySegment ys) {
        calls.run(() -> {
            cl.upload(x.ensure((long) tokens * in * Float.BYTES), xs);
            long idx = codeIdx.ensure((long) tokens * codes.width() * Integer.BYTES);
            long val = codeVal.ensure((long) tokens * codes.width() * Float.BYTES);
            cl.upload(idx, codes.indexSegment());
            cl.upload(val, codes.valueSegment());
            decodeOnDevice(tokens, codes.width(), idx, val);
            cl.download(y.handle(), ys);
        });
    }

    @Override
    protected void closeImpl() {
        calls.release(cl::finishAndClose);
    }

    /** Which kernels build options were chosen: for tests and the benchmark report. */
    boolean topkListsLocal() {
        return topkListsLocal;
    }

    /** Codes [tokens, K] into idx/val: the top K of relu(gate) (MxD) or of z (TC, STC). x is on the device. */
    private void encodeOnDevice(int tokens, long idx, long val) {
        long scores;
        int depth, cols;
        if (mxd) {
            scores = x.handle();
            depth = in;
            cols = codeSpace;
        } else {
            runEncoder(tokens);
            scores = z.handle();
            depth = 0;
            cols = hidden;
        }
        selection.select(tokens, scores, depth, cols, k, gateT, gateBias, idx, val);
    }

    /** y [tokens, O] from codes [tokens, width] already on the device; x is on the device. */
    private void decodeOnDevice(int tokens, int width, long idx, long val) {
        if (mxd) {
            runEncoder(tokens);
        }
        long mBuffer = m.ensure((long) tokens * out * Float.BYTES);
        new ClQueue.Args(gather, "gather_rows").buffers(idx, val).ints(width).buffers(mxd ? cRows : wDec, mBuffer)
                .ints(tokens, out);
        int group = geometry.groupSize();
        cl.launch(gather, "gather_rows", (long) Math.ceilDiv(out, group) * group, tokens, group, 1);

        long yBuffer = y.ensure((long) tokens * out * Float.BYTES);
        new ClQueue.Args(decoder, "decoder").buffers(mxd ? z.handle() : 0, mxd ? wDec : 0, mBuffer, x.handle(), wSkipT, bDecOut, yBuffer)
                .ints(tokens, in, hidden, out);
        cl.launchTiles(decoder, "decoder", geometry, tokens, out);
    }

    /** z [tokens, H] = act(x·W_enc + b_enc) [⊙ GLU]; x is on the device. */
    private void runEncoder(int tokens) {
        long zBuffer = z.ensure((long) tokens * hidden * Float.BYTES);
        new ClQueue.Args(encoder, "encoder").buffers(x.handle(), wEnc, bEnc, wGluT, bGlu, zBuffer).ints(tokens, in, hidden);
        cl.launchTiles(encoder, "encoder", geometry, tokens, hidden);
    }

    // ---- OpenCL plumbing -------------------------------------------------------------------------------

    /**
     * Uploads one tensor read-only; {@code transpose} packs a [rows, cols] tensor as [cols, rows] first, in a
     * confined arena closed before this returns.
     */
    private long upload(MxdModel model, String name, boolean transpose) {
        Tensor t = model.tensor(name);
        long bytes = t.elementCount() * Float.BYTES;
        if (bytes > device.maxAllocBytes()) {
            throw new MxdBackendException("tensor '" + name + "' " + t + " needs " + bytes + " bytes, more than the "
                    + device.maxAllocBytes() + " bytes OpenCL device " + device.name() + " allows in one buffer");
        }
        if (!transpose) {
            return cl.readOnly(t.data(), name);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment packed = arena.allocate(bytes, 64);
            long[] shape = t.shape();
            transpose(t.data(), (int) shape[0], (int) shape[1], packed);
            return cl.readOnly(packed, name + "ᵀ");
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
}
