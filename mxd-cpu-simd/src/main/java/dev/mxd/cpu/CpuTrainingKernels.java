package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import dev.mxd.train.DecoderNorm;
import dev.mxd.train.ParameterTensors;
import dev.mxd.oracle.OracleBackward;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * {@link TrainingKernels} on the cpu backend: the forward pass of DESIGN §1 keeping its intermediates, and the
 * gradient of the normalised loss (DESIGN §2), over the module's packed GEMM ({@link Gemm}, {@link PackedMatrix})
 * and worker threads. The float64 oracle {@link OracleBackward} is the specification; the notation below is
 * its.
 *
 * <p>Per call (T tokens; the weights are packed from the model's current values each call, since the trainer
 * updates them in place between calls):
 * <ul>
 *   <li>dense GEMMs: {@code h = x·W_enc}, {@code u = x·W_gluᵀ}, {@code base = z·W_dec}, the skip product, and in
 *       the backward {@code dW_enc = xᵀ·dh}, {@code dW_glu = duᵀ·x}, {@code dW_dec = zᵀ·dbase},
 *       {@code dz = dbase·W_decᵀ}, {@code dW_skip = dyᵀ·x};</li>
 *   <li>the gate: {@code gate·xᵀ} by GEMM tile by tile (a block of experts by the batch's tokens) with bias, relu
 *       and TopK in the epilogue; the T×N gate matrix is never stored, and the gate is read from the model as the
 *       GEMM's row operand rather than packed per call (see {@link #selectExperts});</li>
 *   <li>sparse: {@code m = Cᵀa} gathers K rows of C per token; the backward visits only the (token, expert) pairs
 *       of the codes. Pairs are bucketed by expert (a counting sort), and each expert's rows of {@code gate},
 *       {@code gate_bias} and {@code W_cond} are summed over its tokens in token order by one participant. Per token
 *       the work is O(K·(I + O)), whatever N; per call there is one O(N) pass for the buckets, besides zeroing
 *       the gradient tensors, which the contract overwrites whole.</li>
 * </ul>
 * A TC/STC is the same with the TopK over the hidden units and K rows of {@code W_dec} per token.
 *
 * <p>Determinism: every GEMM element is one chain of fused multiply-adds in order of the reduction index, whatever
 * the blocking ({@link Gemm}); bias gradients and sparse rows are summed in token order by a single participant.
 * Results are therefore bit-identical from call to call and do not depend on {@code mxd.threads}.
 *
 * <p>Ownership: the caller owns the model and closes it after these kernels; the kernels keep no native memory
 * (their work arrays and packed weights are heap arrays kept from call to call, so a steady run of steps allocates
 * nothing large), and {@link #close()} drops those arrays. Not thread-safe.
 */
public final class CpuTrainingKernels implements TrainingKernels {
    /** 1/√(2π), the standard normal density at 0. */
    private static final float INV_SQRT_2PI = 0.3989422804f;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfFloat LE = Tensor.F32_LE;
    /** Rows per GEMM block (see {@link Gemm}): the block's packed rows and one tile stay in L2. */
    private static final int BLOCK_ROWS = 192;
    /** Columns per epilogue tile, rounded to the register block. */
    private static final int TILE_COLS = 256;
    /** Rows per block of the element-wise passes. */
    private static final int ROW_CHUNK = 64;

    private final MxdModel model;
    private final MxdConfig cfg;
    private final Kernels kern;
    private final WorkerPool pool;
    private final int inDim, hidden, outDim, experts, k, nc;
    private final Activation act;
    private final boolean mxd, glu, skip;
    private volatile boolean closed;
    /** The [N, O] expert rows, refilled from the model each call ({@link #expertRows}). */
    private float[] cRowsBuffer;
    /**
     * Work arrays kept from call to call by name, each at least as large as the largest batch needed: at the GPT-2
     * shape a step's arrays and packed operands are hundreds of MB, which fresh allocations would hand the GC (and
     * the page-fault handler) every step.
     */
    private final Map<String, float[]> buffers = new HashMap<>();
    /** The same for double arrays (the decoder-norm sums). */
    private final Map<String, double[]> doubleBuffers = new HashMap<>();
    /** The gate's per-participant TopK heaps of the last call, for the next. */
    private final Queue<TopK> keptHeaps = new ConcurrentLinkedQueue<>();
    /** Packed operands of the last call, whose arrays the next call packs into (see {@link #packed}). */
    private final Map<String, PackedMatrix> packedKept = new HashMap<>();
    /** (token, expert) pairs the last backward pass visited in gate, gate_bias and C (TC: rows of W_dec). */
    private long sparseRowsVisited;

    CpuTrainingKernels(MxdModel model, Kernels kern, WorkerPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        if (model.isClosed()) {
            throw new IllegalStateException("cannot train a closed MxdModel on backend " + CpuBackend.NAME);
        }
        this.cfg = model.config();
        this.kern = kern;
        this.pool = pool;
        this.inDim = cfg.inputDim();
        this.hidden = cfg.hiddenDim();
        this.outDim = cfg.outputDim();
        this.experts = cfg.experts();
        this.k = cfg.k();
        this.act = cfg.activation();
        this.mxd = cfg.kind() == Kind.MXD;
        this.glu = cfg.glu();
        this.skip = cfg.skip();
        this.nc = Math.max(kern.nr, TILE_COLS / kern.nr * kern.nr);
    }

    /**
     * Kernels over {@code model}'s tensors on this JVM's cpu kernels and worker pool; the caller keeps ownership of
     * the model.
     *
     * @throws dev.mxd.MxdBackendException when the cpu backend is unavailable here, with the reason
     */
    public static CpuTrainingKernels of(MxdModel model) {
        return (CpuTrainingKernels) new CpuBackend().kernels(model);
    }

    @Override
    public MxdModel model() {
        return model;
    }

    /** The (token, expert) pairs, or for a TC (token, hidden unit) pairs, the last backward pass summed. */
    long sparseRowsVisited() {
        return sparseRowsVisited;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Entry points

    @Override
    public void forwardBackward(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                                ParameterTensors grads) {
        forwardBackward(x, t, tokens, y, codes, grads, false);
    }

    /**
     * For an MxD, the projection is fused into the backward pass: each block of C's gradient rows loses its
     * components parallel to the rows of C while the block is still in cache (the same double sums in the same
     * order as {@link #removeParallelDecoderGradient}, so bit-identical to it), instead of a separate pass that reads
     * and writes the N·O gradient again.
     */
    @Override
    public void forwardBackwardProjected(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                                         ParameterTensors grads) {
        forwardBackward(x, t, tokens, y, codes, grads, mxd);
        if (!mxd) {
            removeParallelDecoderGradient(grads);
        }
    }

    private void forwardBackward(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                                 ParameterTensors grads, boolean projectExpertRows) {
        check(x, tokens, y, codes);
        requireBytes("t", t, (long) tokens * outDim);
        Objects.requireNonNull(grads, "grads");
        if (!grads.config().equals(cfg)) {
            throw new IllegalArgumentException("the gradient tensors are for another config (" + grads.config().kind()
                    + " " + grads.config().inputDim() + "x" + grads.config().hiddenDim() + "), not this model's");
        }
        float[] xs = floats("x", x, tokens * inDim);
        float[] ts = floats("t", t, tokens * outDim);
        float[] norms = targetNorms(ts, tokens);
        Weights w = pack();
        Pass p = forward(w, xs, tokens);
        write(p, y, codes);
        backward(w, p, ts, norms, grads, projectExpertRows);
    }

    @Override
    public void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        check(x, tokens, y, codes);
        Pass p = forward(pack(), floats("x", x, tokens * inDim), tokens);
        write(p, y, codes);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Passes over the parameters: the backend-neutral arithmetic (DecoderNorm, AdamW) in vector lanes over the
    // participants, bit-identical to it.

    /** Columns per block of the decoder-norm passes over W_cond [O, N]: a block's double sums stay in L1. */
    private static final int NORM_COLUMNS = 1024;
    /** Elements per block of the AdamW pass. */
    private static final int ADAM_CHUNK = 1 << 16;

    @Override
    public void normaliseDecoder() {
        if (!mxd) {
            TrainingKernels.super.normaliseDecoder();
            return;
        }
        MemorySegment w = data("W_cond");
        double[] norms = decoderProducts(w, w);
        for (int n = 0; n < experts; n++) {
            norms[n] = Math.sqrt(norms[n]);
            DecoderNorm.checkNorm(cfg, n, norms[n]);
        }
        forColumnBlocks((n0, n1) -> {
            for (int o = 0; o < outDim; o++) {
                kern.divide(w, (long) o * experts + n0, norms, n0, n1 - n0);
            }
        });
    }

    @Override
    public void removeParallelDecoderGradient(ParameterTensors grads) {
        if (!mxd) {
            TrainingKernels.super.removeParallelDecoderGradient(grads);
            return;
        }
        MemorySegment w = data("W_cond");
        MemorySegment g = grads.tensor("W_cond").data();
        double[] dots = decoderProducts(g, w);
        forColumnBlocks((n0, n1) -> {
            for (int o = 0; o < outDim; o++) {
                kern.subtractParallel(g, w, (long) o * experts + n0, dots, n0, n1 - n0);
            }
        });
    }

    @Override
    public void adamStep(AdamW adam, ParameterTensors grads, double lr) {
        adam.step(model, grads, lr, (p, g, m, v, count, c) -> {
            int chunks = Math.toIntExact(Math.ceilDiv(count, ADAM_CHUNK));
            pool.forEachBlock(chunks, () -> Boolean.TRUE, (unused, b) ->
                    kern.adamw(p, g, m, v, (long) b * ADAM_CHUNK, Math.min(count, (long) (b + 1) * ADAM_CHUNK), c));
        });
    }

    /** {@code Σ_o a[o, n]·b[o, n]} per column n of two [O, N] tensors, in double, summed in order of o. */
    private double[] decoderProducts(MemorySegment a, MemorySegment b) {
        double[] sums = buffer64("decoderProducts", experts);
        Arrays.fill(sums, 0.0);
        forColumnBlocks((n0, n1) -> {
            for (int o = 0; o < outDim; o++) {
                kern.accumulateProducts(a, b, (long) o * experts + n0, sums, n0, n1 - n0);
            }
        });
        return sums;
    }

    private void forColumnBlocks(RowRange body) {
        pool.forEachBlock(Math.ceilDiv(experts, NORM_COLUMNS), () -> Boolean.TRUE,
                (unused, b) -> body.run(b * NORM_COLUMNS, Math.min(experts, (b + 1) * NORM_COLUMNS)));
    }

    private double[] buffer64(String name, int size) {
        double[] a = doubleBuffers.get(name);
        if (a == null || a.length < size) {
            a = new double[size];
            doubleBuffers.put(name, a);
        }
        return a;
    }

    @Override
    public void close() {
        closed = true;
        buffers.clear();
        doubleBuffers.clear();
        packedKept.clear();
        keptHeaps.clear();
        cRowsBuffer = null;
    }

    private void check(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        if (closed) {
            throw new IllegalStateException("these cpu training kernels are closed");
        }
        if (model.isClosed()) {
            throw new IllegalStateException("the model of these cpu training kernels is closed");
        }
        if (tokens < 1) {
            throw new IllegalArgumentException("tokens must be >= 1, got " + tokens);
        }
        if ((long) tokens * Math.max(Math.max(inDim, outDim), hidden) > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a batch of " + tokens + " tokens is too large for one call");
        }
        requireBytes("x", x, (long) tokens * inDim);
        requireBytes("y", y, (long) tokens * outDim);
        Objects.requireNonNull(codes, "codes");
        if (codes.tokens() < tokens || codes.width() != k) {
            throw new IllegalArgumentException("codes must be [" + tokens + ", " + k + "], got [" + codes.tokens()
                    + ", " + codes.width() + "]");
        }
        if (y.isReadOnly()) {
            throw new IllegalArgumentException("y is a read-only segment");
        }
    }

    private static void requireBytes(String what, MemorySegment s, long floats) {
        Objects.requireNonNull(s, what);
        if (s.byteSize() < floats * Float.BYTES) {
            throw new IllegalArgumentException(what + " needs " + floats * Float.BYTES + " bytes, the segment has "
                    + s.byteSize());
        }
    }

    private float[] floats(String name, MemorySegment s, int count) {
        float[] a = buffer(name, count);
        MemorySegment.copy(s, F32, 0, a, 0, count);
        return a;
    }

    /** The work array {@code name}, of at least {@code size} floats, holding whatever its last use left. */
    private float[] buffer(String name, int size) {
        float[] a = buffers.get(name);
        if (a == null || a.length < size) {
            a = new float[size];
            buffers.put(name, a);
        }
        return a;
    }

    /** {@code pack} run into the arrays of the operand {@code name} packed by the previous call, kept for the next. */
    private PackedMatrix packed(String name, java.util.function.UnaryOperator<PackedMatrix> pack) {
        PackedMatrix m = pack.apply(packedKept.get(name));
        packedKept.put(name, m);
        return m;
    }

    /** ‖t‖ per row in double, rounded once; a zero or non-finite norm is an error naming the row. */
    private float[] targetNorms(float[] t, int tokens) {
        float[] norms = buffer("norms", tokens);
        for (int r = 0; r < tokens; r++) {
            double s = 0;
            for (int o = r * outDim, end = o + outDim; o < end; o++) {
                s += (double) t[o] * t[o];
            }
            double norm = Math.sqrt(s);
            if (!(norm > 0) || Double.isInfinite(norm)) {
                throw new IllegalArgumentException("target row " + r + " of the batch has norm " + norm
                        + ": the normalised loss divides by ‖t‖, so a zero (or non-finite) target row is not allowed");
            }
            norms[r] = (float) norm;
        }
        return norms;
    }

    private void write(Pass p, MemorySegment y, Codes codes) {
        MemorySegment.copy(p.y, 0, y, F32, 0, p.tokens * outDim);
        MemorySegment.copy(p.codeIndex, 0, codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, 0, p.tokens * k);
        MemorySegment.copy(p.codeValue, 0, codes.valueSegment(), F32, 0, p.tokens * k);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Weights

    /** The model's current weights in the kernels' layouts; null fields are parts this kind does not have. */
    private record Weights(PackedMatrix enc, float[] bEnc, PackedMatrix glu, float[] bGlu, float[] gateBias,
                           float[] cRows, PackedMatrix dec, float[] decRows, PackedMatrix skip, float[] bOut) {
    }

    private Weights pack() {
        int nr = kern.nr;
        PackedMatrix enc = packed("W_enc", r -> PackedMatrix.ofRows("W_enc", data("W_enc"), LE, inDim, hidden, nr, pool,
                false, r));
        PackedMatrix gluW = glu ? packed("W_glu.weight", r -> PackedMatrix.ofTransposed("W_glu.weight",
                data("W_glu.weight"), LE, inDim, hidden, nr, pool, r)) : null;
        PackedMatrix dec = mxd ? packed("W_dec", r -> PackedMatrix.ofRows("W_dec", data("W_dec"), LE, hidden, outDim, nr,
                pool, false, r)) : null;
        PackedMatrix skipW = skip ? packed("W_skip.weight", r -> PackedMatrix.ofTransposed("W_skip.weight",
                data("W_skip.weight"), LE, inDim, outDim, nr, pool, r)) : null;
        float[] cRows = mxd ? expertRows() : null;
        return new Weights(enc, vector("b_enc"), gluW, glu ? vector("W_glu.bias") : null,
                mxd ? vector("gate_bias") : null, cRows, dec, mxd ? null : vector("W_dec"), skipW, vector("b_dec_out"));
    }

    private float[] vector(String name) {
        MemorySegment src = data(name);
        float[] a = buffer("weights." + name, Math.toIntExact(src.byteSize() / Float.BYTES));
        MemorySegment.copy(src, LE, 0, a, 0, Math.toIntExact(src.byteSize() / Float.BYTES));
        return a;
    }

    /**
     * The tile of the W_cond [O, N] ↔ C [N, O] transpositions: runs of {@value #TILE_EXPERTS} floats along W_cond's
     * rows and of {@value #TILE_OUTPUTS} (a cache line) along C's, so that neither side is read or written one
     * element per cache line (W_cond's rows are N floats apart).
     */
    private static final int TILE_EXPERTS = 256, TILE_OUTPUTS = 16;

    /**
     * C = W_condᵀ as [N, O] rows (expert n's c_n contiguous, for the gather), read straight from the model into a
     * buffer kept from call to call: at GPT-2 size it is 66 MB, which a fresh copy per step would hand the GC.
     */
    private float[] expertRows() {
        MemorySegment src = data("W_cond");
        if (cRowsBuffer == null) {
            cRowsBuffer = new float[Math.multiplyExact(experts, outDim)];
        }
        float[] dst = cRowsBuffer;
        pool.forEachBlock(Math.ceilDiv(experts, TILE_EXPERTS), () -> new float[TILE_OUTPUTS * TILE_EXPERTS], (tile, b) -> {
            int n0 = b * TILE_EXPERTS;
            int cols = Math.min(TILE_EXPERTS, experts - n0);
            for (int o0 = 0; o0 < outDim; o0 += TILE_OUTPUTS) {
                int rows = Math.min(TILE_OUTPUTS, outDim - o0);
                for (int r = 0; r < rows; r++) {
                    MemorySegment.copy(src, LE, ((long) (o0 + r) * experts + n0) * Float.BYTES, tile, r * cols, cols);
                }
                for (int c = 0; c < cols; c++) {
                    int d = (n0 + c) * outDim + o0;
                    for (int r = 0; r < rows; r++) {
                        dst[d + r] = tile[r * cols + c];
                    }
                }
            }
        });
        return dst;
    }

    private MemorySegment data(String name) {
        return model.tensor(name).data();
    }


    // ---------------------------------------------------------------------------------------------------------
    // Forward

    /** One batch's forward pass with what the backward pass reads; arrays are row-major. */
    private static final class Pass {
        final int tokens;
        final float[] x;         // [T, I]
        final float[] h;         // [T, H] pre-activation x·W_enc + b_enc
        final float[] u;         // [T, H] GLU branch, or null
        final float[] z;         // [T, H]
        final float[] base;      // [T, O] z·W_dec (MxD), or null
        final float[] m;         // [T, O] Cᵀa (MxD), or null
        final float[] y;         // [T, O]
        final int[] codeIndex;   // [T, K]
        final float[] codeValue; // [T, K]

        Pass(CpuTrainingKernels owner, int tokens, float[] x) {
            int th = tokens * owner.hidden;
            int to = tokens * owner.outDim;
            this.tokens = tokens;
            this.x = x;
            this.h = owner.buffer("h", th);
            this.u = owner.glu ? owner.buffer("u", th) : null;
            this.z = owner.buffer("z", th);
            this.base = owner.mxd ? owner.buffer("base", to) : null;
            this.m = owner.mxd ? owner.buffer("m", to) : null;
            this.y = owner.buffer("y", to);
            this.codeIndex = new int[tokens * owner.k];
            this.codeValue = owner.buffer("codeValue", tokens * owner.k);
        }
    }

    private Pass forward(Weights w, float[] x, int tokens) {
        Pass p = new Pass(this, tokens, x);
        gemm(x, tokens, w.enc, (s, row0, rows, c0, cols) -> store(s.tile, rows, cols, w.bEnc, c0, p.h, row0, hidden));
        if (glu) {
            gemm(x, tokens, w.glu, (s, row0, rows, c0, cols) -> store(s.tile, rows, cols, w.bGlu, c0, p.u, row0, hidden));
        }
        forRows(tokens, (r0, r1) -> {
            System.arraycopy(p.h, r0 * hidden, p.z, r0 * hidden, (r1 - r0) * hidden);
            for (int r = r0; r < r1; r++) {
                kern.activate(act, p.z, r * hidden, hidden);
                if (glu) {
                    kern.multiply(p.z, r * hidden, p.u, r * hidden, hidden);
                }
            }
        });
        if (mxd) {
            gemm(p.z, tokens, w.dec, (s, row0, rows, c0, cols) -> store(s.tile, rows, cols, null, c0, p.base, row0, outDim));
            selectExperts(w, p);
            forRows(tokens, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    gatherRows(p, r, w.cRows, p.m, r * outDim);
                    System.arraycopy(p.base, r * outDim, p.y, r * outDim, outDim);
                    kern.multiply(p.y, r * outDim, p.m, r * outDim, outDim);
                }
            });
        } else {
            forRows(tokens, (r0, r1) -> {
                TopK top = new TopK(1, k);
                for (int r = r0; r < r1; r++) {
                    top.offer(kern, 0, p.z, r * hidden, hidden, 0);
                    top.drain(0, p.codeIndex, p.codeValue, r * k);
                    gatherRows(p, r, w.decRows, p.y, r * outDim);
                }
            });
        }
        if (skip) {
            gemm(x, tokens, w.skip, (s, row0, rows, c0, cols) -> {
                for (int r = 0; r < rows; r++) {
                    kern.add(p.y, (row0 + r) * outDim + c0, s.tile, r * nc, cols);
                }
            });
        }
        forRows(tokens, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                kern.add(p.y, r * outDim, w.bOut, 0, outDim);
            }
        });
        return p;
    }

    /**
     * The codes of an MxD: {@code TopK_K(relu(x·gateᵀ + gate_bias))} per token, with the gate scores computed the
     * other way round, {@code gate·xᵀ}, a block of experts (the GEMM's rows) by all tokens at a time. The gate's
     * rows are packed block by block straight from the model, so no step packs (or reads twice) its N·I floats,
     * and the small xᵀ is the operand that stays in cache. Each participant keeps a heap per token over the experts
     * it saw, merged after the GEMM: the rank is a total order, so the codes do not depend on how the blocks were
     * shared out, and each score is the same chain of fused multiply-adds as {@code x·gateᵀ}'s (see {@link Gemm}).
     */
    private void selectExperts(Weights w, Pass p) {
        int tokens = p.tokens;
        PackedMatrix xT = packed("x^T", r -> PackedMatrix.ofTransposed("x", MemorySegment.ofArray(p.x), F32, inDim,
                tokens, kern.nr, pool, r));
        MemorySegment gate = data("gate");
        List<TopK> heaps = Collections.synchronizedList(new ArrayList<>());
        gemm(experts, xT, (s, row0, rows) -> Gemm.packRows(gate, LE, row0, rows, inDim, kern.mr, s.row, s.aPacked),
                (s, row0, rows, c0, cols) -> {
                    if (s.topK == null) {
                        TopK kept = keptHeaps.poll();
                        s.topK = kept != null && kept.rows() >= tokens ? kept : new TopK(tokens, k);
                        s.topK.clear(tokens);
                        heaps.add(s.topK);
                    }
                    for (int r = 0; r < rows; r++) {
                        kern.shiftedRelu(s.tile, r * nc, cols, w.gateBias[row0 + r]);
                    }
                    s.topK.offerColumns(kern, s.tile, nc, rows, cols, row0, c0);
                });
        TopK all = heaps.get(0);
        for (int i = 1; i < heaps.size(); i++) {
            all.absorb(heaps.get(i), tokens);
        }
        for (int r = 0; r < tokens; r++) {
            all.drain(r, p.codeIndex, p.codeValue, r * k);
        }
        keptHeaps.addAll(heaps);
    }

    /** {@code dst[off ..] = Σⱼ valueⱼ · table[indexⱼ]} over row r's codes ({@code table} has O columns). */
    private void gatherRows(Pass p, int r, float[] table, float[] dst, int off) {
        Arrays.fill(dst, off, off + outDim, 0f);
        for (int j = r * k, end = j + k; j < end; j++) {
            float v = p.codeValue[j];
            if (v != 0f) {
                kern.axpy(v, table, p.codeIndex[j] * outDim, dst, off, outDim);
            }
        }
    }

    /** {@code dst[(row0 + r)·ld + c0 + c] = tile[r·nc + c] (+ bias[c0 + c])}. */
    private void store(float[] tile, int rows, int cols, float[] bias, int c0, float[] dst, int row0, int ld) {
        for (int r = 0; r < rows; r++) {
            if (bias != null) {
                kern.add(tile, r * nc, bias, c0, cols);
            }
            System.arraycopy(tile, r * nc, dst, (row0 + r) * ld + c0, cols);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Backward

    private void backward(Weights w, Pass p, float[] t, float[] norms, ParameterTensors grads,
                          boolean projectExpertRows) {
        int tokens = p.tokens;
        // Every gradient tensor is written whole below (rows of unselected experts as zeros), so none is cleared.
        // dy = 2(y − t) / (‖t‖·T·O)
        float[] dy = buffer("dy", tokens * outDim);
        double scale = 2.0 / ((double) tokens * outDim);
        forRows(tokens, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                float f = (float) (scale / norms[r]);
                for (int o = r * outDim, end = o + outDim; o < end; o++) {
                    dy[o] = (p.y[o] - t[o]) * f;
                }
            }
        });
        columnSums(dy, tokens, outDim, grads.tensor("b_dec_out").data());
        PackedMatrix xRows = skip || glu ? packed("x", r -> PackedMatrix.ofRows("x", MemorySegment.ofArray(p.x), F32,
                tokens, inDim, kern.nr, pool, false, r)) : null;
        if (skip) {
            // dW_skip [O, I] = dyᵀ·x
            gemmTransposedInto(dy, tokens, outDim, xRows, grads.tensor("W_skip.weight").data());
        }
        float[] dz;
        if (mxd) {
            float[] dBase = buffer("dbase", tokens * outDim);
            float[] dm = buffer("dm", tokens * outDim);
            forRows(tokens, (r0, r1) -> {
                for (int e = r0 * outDim; e < r1 * outDim; e++) {
                    dBase[e] = dy[e] * p.m[e];
                    dm[e] = dy[e] * p.base[e];
                }
            });
            expertGradients(w, p, dm, grads, projectExpertRows);
            // dW_dec [H, O] = zᵀ·dbase;  dz [T, H] = dbase·W_decᵀ
            PackedMatrix dBaseRows = packed("dbase", r -> PackedMatrix.ofRows("dbase", MemorySegment.ofArray(dBase), F32,
                    tokens, outDim, kern.nr, pool, false, r));
            gemmTransposedInto(p.z, tokens, hidden, dBaseRows, grads.tensor("W_dec").data());
            PackedMatrix decT = packed("W_dec.T", r -> PackedMatrix.ofTransposed("W_dec", data("W_dec"), LE, outDim,
                    hidden, kern.nr, pool, r));
            float[] dzm = buffer("dz", tokens * hidden);
            gemm(dBase, tokens, decT, (s, row0, rows, c0, cols) -> store(s.tile, rows, cols, null, c0, dzm, row0, hidden));
            dz = dzm;
        } else {
            dz = unitGradients(w, p, dy, grads);
        }
        // dact = dz ⊙ u;  du = dz ⊙ act(h);  dh = dact ⊙ act'(h)
        float[] dh = buffer("dh", tokens * hidden);
        float[] du = glu ? buffer("du", tokens * hidden) : null;
        boolean gelu = act == Activation.GELU;
        forRows(tokens, (r0, r1) -> {
            float[] a = glu ? new float[hidden] : null;
            // GELU' = Φ(h) + h·φ(h) on the vector kernels: the double erf of the definition cost a tenth of a step
            float[] cdf = gelu ? new float[hidden] : null;
            float[] gauss = gelu ? new float[hidden] : null;
            for (int r = r0; r < r1; r++) {
                int o = r * hidden;
                if (glu) {
                    System.arraycopy(p.h, o, a, 0, hidden);
                    kern.activate(act, a, 0, hidden);
                }
                if (gelu) {
                    System.arraycopy(p.h, o, cdf, 0, hidden);
                    kern.normalCdf(cdf, 0, hidden);
                    for (int j = 0; j < hidden; j++) {
                        float h = p.h[o + j];
                        gauss[j] = -0.5f * h * h;
                    }
                    kern.exp(gauss, 0, hidden);
                }
                for (int j = 0; j < hidden; j++) {
                    float d = dz[o + j];
                    if (d == 0f) {
                        dh[o + j] = 0f;
                        if (glu) {
                            du[o + j] = 0f;
                        }
                        continue;
                    }
                    float dAct = d;
                    if (glu) {
                        du[o + j] = d * a[j];
                        dAct = d * p.u[o + j];
                    }
                    dh[o + j] = dAct * (gelu ? cdf[j] + p.h[o + j] * gauss[j] * INV_SQRT_2PI
                            : (float) act.derivative(p.h[o + j]));
                }
            }
        });
        // dW_enc [I, H] = xᵀ·dh;  db_enc = Σ dh
        PackedMatrix dhRows = packed("dh", r -> PackedMatrix.ofRows("dh", MemorySegment.ofArray(dh), F32, tokens, hidden,
                kern.nr, pool, false, r));
        gemmTransposedInto(p.x, tokens, inDim, dhRows, grads.tensor("W_enc").data());
        columnSums(dh, tokens, hidden, grads.tensor("b_enc").data());
        if (glu) {
            // dW_glu [H, I] = duᵀ·x;  db_glu = Σ du
            gemmTransposedInto(du, tokens, hidden, xRows, grads.tensor("W_glu.weight").data());
            columnSums(du, tokens, hidden, grads.tensor("W_glu.bias").data());
        }
    }

    /** Experts per block of {@link #expertGradients}: C's gradient is written to W_cond [O, N] in runs this long. */
    private static final int EXPERT_BLOCK = 128;

    /**
     * The sparse part of an MxD's backward pass, over the (token, expert) pairs with a non-zero code (a zero code
     * has relu'(g) = 0 and contributes nothing): {@code daₙ = dm·C[n]}, {@code dC[n] += aₙ·dm},
     * {@code dgate[n] += daₙ·x}, {@code dgate_bias[n] += daₙ}. Every expert's rows are written, zero for those no
     * token selected.
     *
     * <p>Expert by expert, so that C[n] is read once, in order of n, for all of its tokens (in token order, a token's
     * K rows of C are K random reads). C's gradient rows are columns of W_cond [O, N]: a block of
     * {@link #EXPERT_BLOCK} experts is summed as rows, projected there (with {@code project}, on the block's rows of
     * C, which {@link #expertRows} copied from W_cond for this call), then written to W_cond through a tile of
     * {@value #TILE_OUTPUTS} outputs, so that each of W_cond's rows gets a run of the block's width and neither side
     * is read one element per cache line.
     */
    private void expertGradients(Weights w, Pass p, float[] dm, ParameterTensors grads, boolean project) {
        MemorySegment dGate = grads.tensor("gate").data();
        MemorySegment dGateBias = grads.tensor("gate_bias").data();
        MemorySegment dCond = grads.tensor("W_cond").data();
        float[] c = w.cRows;
        sparseRows(p, experts, EXPERT_BLOCK, (pairs, start, n0, n1, scratch) -> {
            float[] cBlock = scratch[0];
            float[] gRow = scratch[1];
            float[] tile = scratch[2];
            double[] dots = new double[EXPERT_BLOCK];
            for (int b0 = n0; b0 < n1; b0 += EXPERT_BLOCK) {
                int width = Math.min(EXPERT_BLOCK, n1 - b0);
                Arrays.fill(cBlock, 0, width * outDim, 0f);
                for (int n = b0; n < b0 + width; n++) {
                    Arrays.fill(gRow, 0f);
                    float bias = 0f;
                    int co = (n - b0) * outDim;
                    for (int q = start[n]; q < start[n + 1]; q++) {
                        int e = pairs[q];
                        int r = e / k;
                        float da = kern.dot(dm, r * outDim, c, n * outDim, outDim);
                        kern.axpy(p.codeValue[e], dm, r * outDim, cBlock, co, outDim);
                        kern.axpy(da, p.x, r * inDim, gRow, 0, inDim);
                        bias += da;
                    }
                    MemorySegment.copy(gRow, 0, dGate, LE, (long) n * inDim * Float.BYTES, inDim);
                    dGateBias.setAtIndex(LE, n, bias);
                }
                if (project) {
                    rowProducts(cBlock, c, b0 * outDim, outDim, width, dots);
                    for (int j = 0; j < width; j++) {
                        if (dots[j] != 0) {
                            kern.subtractScaled(cBlock, j * outDim, dots[j], c, (b0 + j) * outDim, outDim);
                        }
                    }
                }
                for (int o0 = 0; o0 < outDim; o0 += TILE_OUTPUTS) {
                    int rows = Math.min(TILE_OUTPUTS, outDim - o0);
                    for (int j = 0; j < width; j++) {
                        for (int r = 0, from = j * outDim + o0; r < rows; r++) {
                            tile[r * width + j] = cBlock[from + r];
                        }
                    }
                    for (int r = 0; r < rows; r++) {
                        MemorySegment.copy(tile, r * width, dCond, LE, ((long) (o0 + r) * experts + b0) * Float.BYTES,
                                width);
                    }
                }
            }
        }, new int[] {EXPERT_BLOCK * outDim, inDim, TILE_OUTPUTS * EXPERT_BLOCK}, true);
    }

    /**
     * {@code dots[j] = Σ_o (double) g[j·len + o]·w[wo + j·len + o]} for the {@code count} rows of g, each summed in
     * order of o in double, as {@link DecoderNorm#removeParallelGradient} sums (the products of floats are exact in
     * double, so the results are bit-identical to it). Eight rows go together, their eight chains of additions
     * overlapping; the order within each row is kept.
     */
    private static void rowProducts(float[] g, float[] w, int wo, int len, int count, double[] dots) {
        int j = 0;
        for (; j + 8 <= count; j += 8) {
            int g0 = j * len, w0 = wo + j * len;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (int o = 0; o < len; o++) {
                s0 += (double) g[g0 + o] * w[w0 + o];
                s1 += (double) g[g0 + len + o] * w[w0 + len + o];
                s2 += (double) g[g0 + 2 * len + o] * w[w0 + 2 * len + o];
                s3 += (double) g[g0 + 3 * len + o] * w[w0 + 3 * len + o];
                s4 += (double) g[g0 + 4 * len + o] * w[w0 + 4 * len + o];
                s5 += (double) g[g0 + 5 * len + o] * w[w0 + 5 * len + o];
                s6 += (double) g[g0 + 6 * len + o] * w[w0 + 6 * len + o];
                s7 += (double) g[g0 + 7 * len + o] * w[w0 + 7 * len + o];
            }
            dots[j] = s0;
            dots[j + 1] = s1;
            dots[j + 2] = s2;
            dots[j + 3] = s3;
            dots[j + 4] = s4;
            dots[j + 5] = s5;
            dots[j + 6] = s6;
            dots[j + 7] = s7;
        }
        for (; j < count; j++) {
            double s = 0;
            for (int o = 0, g0 = j * len, w0 = wo + j * len; o < len; o++) {
                s += (double) g[g0 + o] * w[w0 + o];
            }
            dots[j] = s;
        }
    }

    /**
     * The sparse part of a TC's backward pass, over every (token, selected unit) pair: {@code dzⱼ = dy·W_dec[j]},
     * {@code dW_dec[j] += zⱼ·dy}, rows of unselected units written as zeros. Returns dz [T, H], zero outside the
     * selected units.
     */
    private float[] unitGradients(Weights w, Pass p, float[] dy, ParameterTensors grads) {
        int tokens = p.tokens;
        float[] dz = buffer("dz", tokens * hidden);
        forRows(tokens, (r0, r1) -> {
            Arrays.fill(dz, r0 * hidden, r1 * hidden, 0f);
            for (int e = r0 * k; e < r1 * k; e++) {
                int r = e / k;
                int j = p.codeIndex[e];
                dz[r * hidden + j] = kern.dot(dy, r * outDim, w.decRows, j * outDim, outDim);
            }
        });
        MemorySegment dDec = grads.tensor("W_dec").data();
        sparseRows(p, hidden, 1, (pairs, start, j0, j1, scratch) -> {
            float[] row = scratch[0];
            for (int j = j0; j < j1; j++) {
                Arrays.fill(row, 0f);
                for (int q = start[j]; q < start[j + 1]; q++) {
                    int r = pairs[q] / k;
                    kern.axpy(p.z[r * hidden + j], dy, r * outDim, row, 0, outDim);
                }
                MemorySegment.copy(row, 0, dDec, LE, (long) j * outDim * Float.BYTES, outDim);
            }
        }, new int[] {outDim}, false);
        return dz;
    }

    /**
     * A range of code indices [from, to): the pairs of index n are code slots (token·K + slot)
     * {@code pairs[start[n] .. start[n + 1])}, in token order.
     */
    @FunctionalInterface
    private interface RowSum {
        void run(int[] pairs, int[] start, int from, int to, float[][] scratch);
    }

    /**
     * Buckets the code slots by code index (a stable counting sort, so each bucket is in token order) and runs
     * {@code body} over every index, pairs or not, in contiguous ranges (multiples of {@code align}) spread over
     * the participants.
     */
    private void sparseRows(Pass p, int space, int align, RowSum body, int[] scratchSizes, boolean skipZero) {
        int slots = p.tokens * k;
        int[] start = new int[space + 1];
        for (int e = 0; e < slots; e++) {
            if (!skipZero || p.codeValue[e] != 0f) {
                start[p.codeIndex[e] + 1]++;
            }
        }
        for (int n = 0; n < space; n++) {
            start[n + 1] += start[n];
        }
        int total = start[space];
        int[] pairs = new int[total];
        int[] fill = Arrays.copyOf(start, space);
        for (int e = 0; e < slots; e++) {
            if (!skipZero || p.codeValue[e] != 0f) {
                pairs[fill[p.codeIndex[e]]++] = e;
            }
        }
        sparseRowsVisited = total;
        int ranges = Math.min(space, 8 * pool.parallelism());
        int per = Math.ceilDiv(Math.ceilDiv(space, ranges), align) * align;
        pool.forEachBlock(Math.ceilDiv(space, per), () -> {
            float[][] s = new float[scratchSizes.length][];
            for (int i = 0; i < s.length; i++) {
                s[i] = new float[scratchSizes[i]];
            }
            return s;
        }, (s, b) -> body.run(pairs, start, b * per, Math.min(space, (b + 1) * per), s));
    }


    /** {@code dst[c] = Σ_t v[t·cols + c]} summed in token order, written as F32 into {@code dst}. */
    private void columnSums(float[] v, int tokens, int cols, MemorySegment dst) {
        int chunk = Math.max(kern.nr, Math.ceilDiv(Math.ceilDiv(cols, 4 * pool.parallelism()), kern.nr) * kern.nr);
        pool.forEachBlock(Math.ceilDiv(cols, chunk), () -> new float[chunk], (acc, b) -> {
            int c0 = b * chunk;
            int n = Math.min(chunk, cols - c0);
            Arrays.fill(acc, 0f);
            for (int r = 0; r < tokens; r++) {
                kern.add(acc, 0, v, r * cols + c0, n);
            }
            MemorySegment.copy(acc, 0, dst, LE, (long) c0 * Float.BYTES, n);
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // GEMM driver and helpers

    /** A GEMM epilogue: {@code s.tile} holds rows [row0, row0 + rows) × columns [c0, c0 + cols), stride nc. */
    @FunctionalInterface
    private interface Epilogue {
        void apply(Scratch s, int row0, int rows, int c0, int cols);
    }

    /** One participant's buffers: a block of A packed, a row of A being packed, one C tile, and TopK heaps. */
    private static final class Scratch {
        final float[] aPacked;
        final float[] row;
        final float[] tile;
        TopK topK;

        Scratch(int padded, int k, int nc) {
            aPacked = new float[padded * k];
            row = new float[k];
            tile = new float[padded * nc];
        }
    }

    /** Packs rows [row0, row0 + rows) of a GEMM's A into {@code s.aPacked}. */
    @FunctionalInterface
    private interface RowPacker {
        void pack(Scratch s, int row0, int rows);
    }

    /**
     * {@code A·B} for A [m, b.k] row-major, tile by tile into {@code epilogue}: blocks of rows over the
     * participants, each block's columns left to right (so a block's epilogue sees its columns in order).
     */
    private void gemm(float[] a, int m, PackedMatrix b, Epilogue epilogue) {
        gemm(a, m, false, b, epilogue);
    }

    /**
     * {@code A·B} where A [m, b.k] is row-major ({@code transposedA} false) or is given as its transpose, a row-major
     * [b.k, m] array packed straight from that layout ({@link Gemm#packColumns}).
     */
    private void gemm(float[] a, int m, boolean transposedA, PackedMatrix b, Epilogue epilogue) {
        int kk = b.k;
        gemm(m, b, transposedA ? (s, row0, rows) -> Gemm.packColumns(a, row0, m, rows, kk, kern.mr, s.aPacked)
                : (s, row0, rows) -> Gemm.packRows(a, row0 * kk, kk, rows, kk, kern.mr, s.aPacked), epilogue);
    }

    /** {@code A·B} for an A of m rows that {@code packA} packs block by block. */
    private void gemm(int m, PackedMatrix b, RowPacker packA, Epilogue epilogue) {
        int kk = b.k;
        Gemm.RowBlocks plan = Gemm.RowBlocks.of(m, BLOCK_ROWS, kern.mr, pool.parallelism());
        int padded = Math.ceilDiv(plan.maxRows(), kern.mr) * kern.mr;
        pool.forEachBlock(plan.blocks(), () -> new Scratch(padded, kk, nc), (s, blk) -> {
            int row0 = plan.row0(blk);
            int rows = plan.rows(blk);
            packA.pack(s, row0, rows);
            for (int c0 = 0; c0 < b.n; c0 += nc) {
                int cols = Math.min(nc, b.n - c0);
                Gemm.multiply(kern, s.aPacked, rows, b, c0, cols, s.tile, nc);
                epilogue.apply(s, row0, rows, c0, cols);
            }
        });
    }

    /**
     * A weight gradient {@code dst = Sᵀ·B} as F32 [cols, b.n] row-major in a gradient tensor, for S [rows, cols]
     * row-major (rows = b.k, the tokens).
     */
    private void gemmTransposedInto(float[] s, int rows, int cols, PackedMatrix b, MemorySegment dst) {
        if (rows != b.k) {
            throw new IllegalStateException("Sᵀ·B needs S's " + rows + " rows to be B's reduction of " + b.k);
        }
        int n = b.n;
        gemm(s, cols, true, b, (sc, row0, r, c0, width) -> {
            for (int i = 0; i < r; i++) {
                MemorySegment.copy(sc.tile, i * nc, dst, LE, ((long) (row0 + i) * n + c0) * Float.BYTES, width);
            }
        });
    }

    /** Rows [r0, r1) of an element-wise pass. */
    @FunctionalInterface
    private interface RowRange {
        void run(int r0, int r1);
    }

    private void forRows(int rows, RowRange body) {
        pool.forEachBlock(Math.ceilDiv(rows, ROW_CHUNK), () -> Boolean.TRUE,
                (unused, b) -> body.run(b * ROW_CHUNK, Math.min(rows, (b + 1) * ROW_CHUNK)));
    }
}
