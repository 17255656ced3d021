package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.ReferenceBackward;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * {@link TrainingKernels} on the cpu backend: the forward pass of DESIGN §1 keeping its intermediates, and the
 * gradient of the normalised loss (DESIGN §2), over the module's packed GEMM ({@link Gemm}, {@link PackedMatrix})
 * and worker threads. The float64 oracle {@link ReferenceBackward} is the specification; the notation below is
 * its.
 *
 * <p>Per call (T tokens; the weights are packed from the model's current values each call, since the trainer
 * updates them in place between calls):
 * <ul>
 *   <li>dense GEMMs: {@code h = x·W_enc}, {@code u = x·W_gluᵀ}, {@code base = z·W_dec}, the skip product, and in
 *       the backward {@code dW_enc = xᵀ·dh}, {@code dW_glu = duᵀ·x}, {@code dW_dec = zᵀ·dbase},
 *       {@code dz = dbase·W_decᵀ}, {@code dW_skip = dyᵀ·x};</li>
 *   <li>the gate: {@code x·gateᵀ} by GEMM tile by tile with bias, relu and TopK in the epilogue (the T×N gate
 *       matrix is never stored);</li>
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
 * (per-call buffers are heap arrays), so {@link #close()} only marks them closed. Not thread-safe.
 */
public final class CpuTrainingKernels implements TrainingKernels {
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
        return (CpuTrainingKernels) new CpuBackend().training(model).orElseThrow();
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
        check(x, tokens, y, codes);
        requireBytes("t", t, (long) tokens * outDim);
        Objects.requireNonNull(grads, "grads");
        if (!grads.config().equals(cfg)) {
            throw new IllegalArgumentException("the gradient tensors are for another config (" + grads.config().kind()
                    + " " + grads.config().inputDim() + "x" + grads.config().hiddenDim() + "), not this model's");
        }
        float[] xs = floats(x, tokens * inDim);
        float[] ts = floats(t, tokens * outDim);
        float[] norms = targetNorms(ts, tokens);
        Weights w = pack();
        Pass p = forward(w, xs, tokens);
        write(p, y, codes);
        backward(w, p, ts, norms, grads);
    }

    @Override
    public void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        check(x, tokens, y, codes);
        Pass p = forward(pack(), floats(x, tokens * inDim), tokens);
        write(p, y, codes);
    }

    @Override
    public void close() {
        closed = true;
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

    private static float[] floats(MemorySegment s, int count) {
        float[] a = new float[count];
        MemorySegment.copy(s, F32, 0, a, 0, count);
        return a;
    }

    /** ‖t‖ per row in double, rounded once; a zero or non-finite norm is an error naming the row. */
    private float[] targetNorms(float[] t, int tokens) {
        float[] norms = new float[tokens];
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
    private record Weights(PackedMatrix enc, float[] bEnc, PackedMatrix glu, float[] bGlu, PackedMatrix gate,
                           float[] gateBias, float[] cRows, PackedMatrix dec, float[] decRows, PackedMatrix skip,
                           float[] bOut) {
    }

    private Weights pack() {
        int nr = kern.nr;
        PackedMatrix enc = PackedMatrix.ofRows("W_enc", data("W_enc"), LE, inDim, hidden, nr, pool, false);
        PackedMatrix gluW = glu ? PackedMatrix.ofTransposed("W_glu.weight", data("W_glu.weight"), LE, inDim, hidden,
                nr, pool) : null;
        PackedMatrix gate = mxd ? PackedMatrix.ofTransposed("gate", data("gate"), LE, inDim, experts, nr, pool) : null;
        PackedMatrix dec = mxd ? PackedMatrix.ofRows("W_dec", data("W_dec"), LE, hidden, outDim, nr, pool, false) : null;
        PackedMatrix skipW = skip ? PackedMatrix.ofTransposed("W_skip.weight", data("W_skip.weight"), LE, inDim,
                outDim, nr, pool) : null;
        float[] cRows = mxd ? expertRows() : null;
        return new Weights(enc, vector("b_enc"), gluW, glu ? vector("W_glu.bias") : null, gate,
                mxd ? vector("gate_bias") : null, cRows, dec, mxd ? null : vector("W_dec"), skipW, vector("b_dec_out"));
    }

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
        int chunk = 64;
        pool.forEachBlock(Math.ceilDiv(experts, chunk), () -> new float[chunk], (row, b) -> {
            int n0 = b * chunk;
            int cols = Math.min(chunk, experts - n0);
            for (int o = 0; o < outDim; o++) {
                MemorySegment.copy(src, LE, ((long) o * experts + n0) * Float.BYTES, row, 0, cols);
                for (int c = 0; c < cols; c++) {
                    dst[(n0 + c) * outDim + o] = row[c];
                }
            }
        });
        return dst;
    }

    private MemorySegment data(String name) {
        return model.tensor(name).data();
    }

    private float[] vector(String name) {
        return data(name).toArray(LE);
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

        Pass(int tokens, float[] x, int hidden, int outDim, int k, boolean glu, boolean mxd) {
            this.tokens = tokens;
            this.x = x;
            this.h = new float[tokens * hidden];
            this.u = glu ? new float[tokens * hidden] : null;
            this.z = new float[tokens * hidden];
            this.base = mxd ? new float[tokens * outDim] : null;
            this.m = mxd ? new float[tokens * outDim] : null;
            this.y = new float[tokens * outDim];
            this.codeIndex = new int[tokens * k];
            this.codeValue = new float[tokens * k];
        }
    }

    private Pass forward(Weights w, float[] x, int tokens) {
        Pass p = new Pass(tokens, x, hidden, outDim, k, glu, mxd);
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

    /** The codes of an MxD: {@code TopK_K(relu(x·gateᵀ + gate_bias))}, the gate scores seen one tile at a time. */
    private void selectExperts(Weights w, Pass p) {
        gemm(p.x, p.tokens, w.gate, (s, row0, rows, c0, cols) -> {
            if (s.topK == null) {
                s.topK = new TopK(s.tile.length / nc, k);
            }
            if (c0 == 0) {
                s.topK.clear(rows);
            }
            for (int r = 0; r < rows; r++) {
                kern.add(s.tile, r * nc, w.gateBias, c0, cols);
                kern.activate(Activation.RELU, s.tile, r * nc, cols);
                s.topK.offer(kern, r, s.tile, r * nc, cols, c0);
            }
            if (c0 + cols == experts) {
                for (int r = 0; r < rows; r++) {
                    s.topK.drain(r, p.codeIndex, p.codeValue, (row0 + r) * k);
                }
            }
        });
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

    private void backward(Weights w, Pass p, float[] t, float[] norms, ParameterTensors grads) {
        int tokens = p.tokens;
        grads.clear();
        // dy = 2(y − t) / (‖t‖·T·O)
        float[] dy = new float[tokens * outDim];
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
        if (skip) {
            // dW_skip [O, I] = dyᵀ·x
            PackedMatrix xRows = PackedMatrix.ofRows("x", MemorySegment.ofArray(p.x), F32, tokens, inDim, kern.nr, pool, false);
            gemmInto(transpose(dy, tokens, outDim), outDim, xRows, grads.tensor("W_skip.weight").data(), inDim);
        }
        float[] dz;
        if (mxd) {
            float[] dBase = new float[tokens * outDim];
            float[] dm = new float[tokens * outDim];
            forRows(tokens, (r0, r1) -> {
                for (int e = r0 * outDim; e < r1 * outDim; e++) {
                    dBase[e] = dy[e] * p.m[e];
                    dm[e] = dy[e] * p.base[e];
                }
            });
            expertGradients(w, p, dm, grads);
            // dW_dec [H, O] = zᵀ·dbase;  dz [T, H] = dbase·W_decᵀ
            PackedMatrix dBaseRows = PackedMatrix.ofRows("dbase", MemorySegment.ofArray(dBase), F32, tokens, outDim,
                    kern.nr, pool, false);
            gemmInto(transpose(p.z, tokens, hidden), hidden, dBaseRows, grads.tensor("W_dec").data(), outDim);
            PackedMatrix decT = PackedMatrix.ofTransposed("W_dec", data("W_dec"), LE, outDim, hidden, kern.nr, pool);
            dz = new float[tokens * hidden];
            gemm(dBase, tokens, decT, (s, row0, rows, c0, cols) -> store(s.tile, rows, cols, null, c0, dz, row0, hidden));
        } else {
            dz = unitGradients(w, p, dy, grads);
        }
        // dact = dz ⊙ u;  du = dz ⊙ act(h);  dh = dact ⊙ act'(h)
        float[] dh = new float[tokens * hidden];
        float[] du = glu ? new float[tokens * hidden] : null;
        forRows(tokens, (r0, r1) -> {
            float[] a = glu ? new float[hidden] : null;
            for (int r = r0; r < r1; r++) {
                int o = r * hidden;
                if (glu) {
                    System.arraycopy(p.h, o, a, 0, hidden);
                    kern.activate(act, a, 0, hidden);
                }
                for (int j = 0; j < hidden; j++) {
                    float d = dz[o + j];
                    if (d == 0f) {
                        continue;
                    }
                    float dAct = d;
                    if (glu) {
                        du[o + j] = d * a[j];
                        dAct = d * p.u[o + j];
                    }
                    dh[o + j] = dAct * (float) ReferenceBackward.derivative(act, p.h[o + j]);
                }
            }
        });
        // dW_enc [I, H] = xᵀ·dh;  db_enc = Σ dh
        PackedMatrix dhRows = PackedMatrix.ofRows("dh", MemorySegment.ofArray(dh), F32, tokens, hidden, kern.nr, pool, false);
        gemmInto(transpose(p.x, tokens, inDim), inDim, dhRows, grads.tensor("W_enc").data(), hidden);
        columnSums(dh, tokens, hidden, grads.tensor("b_enc").data());
        if (glu) {
            // dW_glu [H, I] = duᵀ·x;  db_glu = Σ du
            PackedMatrix xRows = PackedMatrix.ofRows("x", MemorySegment.ofArray(p.x), F32, tokens, inDim, kern.nr, pool, false);
            gemmInto(transpose(du, tokens, hidden), hidden, xRows, grads.tensor("W_glu.weight").data(), inDim);
            columnSums(du, tokens, hidden, grads.tensor("W_glu.bias").data());
        }
    }

    /**
     * The sparse part of an MxD's backward pass, over the (token, expert) pairs with a non-zero code (a zero code
     * has relu'(g) = 0 and contributes nothing): {@code daₙ = dm·C[n]}, {@code dC[n] += aₙ·dm},
     * {@code dgate[n] += daₙ·x}, {@code dgate_bias[n] += daₙ}.
     */
    private void expertGradients(Weights w, Pass p, float[] dm, ParameterTensors grads) {
        int tokens = p.tokens;
        float[] da = new float[tokens * k];
        forRows(tokens, (r0, r1) -> {
            for (int e = r0 * k; e < r1 * k; e++) {
                if (p.codeValue[e] != 0f) {
                    da[e] = dot(dm, (e / k) * outDim, w.cRows, p.codeIndex[e] * outDim, outDim);
                }
            }
        });
        MemorySegment dGate = grads.tensor("gate").data();
        MemorySegment dGateBias = grads.tensor("gate_bias").data();
        MemorySegment dCond = grads.tensor("W_cond").data();
        sparseRows(p, experts, (pairs, from, to, n, scratch) -> {
            float[] cRow = scratch[0];
            float[] gRow = scratch[1];
            Arrays.fill(cRow, 0f);
            Arrays.fill(gRow, 0f);
            float bias = 0f;
            for (int q = from; q < to; q++) {
                int e = pairs[q];
                int r = e / k;
                kern.axpy(p.codeValue[e], dm, r * outDim, cRow, 0, outDim);
                kern.axpy(da[e], p.x, r * inDim, gRow, 0, inDim);
                bias += da[e];
            }
            MemorySegment.copy(gRow, 0, dGate, LE, (long) n * inDim * Float.BYTES, inDim);
            dGateBias.setAtIndex(LE, n, bias);
            for (int o = 0; o < outDim; o++) {
                dCond.setAtIndex(LE, (long) o * experts + n, cRow[o]);   // column n of W_cond [O, N]
            }
        }, new int[] {outDim, inDim}, true);
    }

    /**
     * The sparse part of a TC's backward pass, over every (token, selected unit) pair: {@code dzⱼ = dy·W_dec[j]},
     * {@code dW_dec[j] += zⱼ·dy}. Returns dz [T, H], zero outside the selected units.
     */
    private float[] unitGradients(Weights w, Pass p, float[] dy, ParameterTensors grads) {
        int tokens = p.tokens;
        float[] dz = new float[tokens * hidden];
        forRows(tokens, (r0, r1) -> {
            for (int e = r0 * k; e < r1 * k; e++) {
                int r = e / k;
                int j = p.codeIndex[e];
                dz[r * hidden + j] = dot(dy, r * outDim, w.decRows, j * outDim, outDim);
            }
        });
        MemorySegment dDec = grads.tensor("W_dec").data();
        sparseRows(p, hidden, (pairs, from, to, j, scratch) -> {
            float[] row = scratch[0];
            Arrays.fill(row, 0f);
            for (int q = from; q < to; q++) {
                int r = pairs[q] / k;
                kern.axpy(p.z[r * hidden + j], dy, r * outDim, row, 0, outDim);
            }
            MemorySegment.copy(row, 0, dDec, LE, (long) j * outDim * Float.BYTES, outDim);
        }, new int[] {outDim}, false);
        return dz;
    }

    /** The pairs of one code index: {@code pairs[from .. to)} are code slots (token·K + slot), in token order. */
    @FunctionalInterface
    private interface RowSum {
        void run(int[] pairs, int from, int to, int index, float[][] scratch);
    }

    /**
     * Buckets the code slots by code index (a stable counting sort, so each bucket is in token order) and runs
     * {@code body} once per index that has pairs, the indices spread over the participants in contiguous ranges.
     */
    private void sparseRows(Pass p, int space, RowSum body, int[] scratchSizes, boolean skipZero) {
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
        int per = Math.ceilDiv(space, ranges);
        pool.forEachBlock(Math.ceilDiv(space, per), () -> {
            float[][] s = new float[scratchSizes.length][];
            for (int i = 0; i < s.length; i++) {
                s[i] = new float[scratchSizes[i]];
            }
            return s;
        }, (s, b) -> {
            for (int n = b * per, end = Math.min(space, n + per); n < end; n++) {
                if (start[n + 1] > start[n]) {
                    body.run(pairs, start[n], start[n + 1], n, s);
                }
            }
        });
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
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

    /** One participant's buffers: a block of A packed, one C tile, and TopK heaps when selecting. */
    private static final class Scratch {
        final float[] aPacked;
        final float[] tile;
        TopK topK;

        Scratch(int padded, int k, int nc) {
            aPacked = new float[padded * k];
            tile = new float[padded * nc];
        }
    }

    /**
     * {@code A·B} for A [m, b.k] row-major, tile by tile into {@code epilogue}: blocks of rows over the
     * participants, each block's columns left to right (so a block's epilogue sees its columns in order).
     */
    private void gemm(float[] a, int m, PackedMatrix b, Epilogue epilogue) {
        int kk = b.k;
        Gemm.RowBlocks plan = Gemm.RowBlocks.of(m, BLOCK_ROWS, kern.mr, pool.parallelism());
        int padded = Math.ceilDiv(plan.maxRows(), kern.mr) * kern.mr;
        pool.forEachBlock(plan.blocks(), () -> new Scratch(padded, kk, nc), (s, blk) -> {
            int row0 = plan.row0(blk);
            int rows = plan.rows(blk);
            Gemm.packRows(a, row0 * kk, kk, rows, kk, kern.mr, s.aPacked);
            for (int c0 = 0; c0 < b.n; c0 += nc) {
                int cols = Math.min(nc, b.n - c0);
                Gemm.multiply(kern, s.aPacked, rows, b, c0, cols, s.tile, nc);
                epilogue.apply(s, row0, rows, c0, cols);
            }
        });
    }

    /** {@code dst = A·B} as F32 [m, n] row-major in a gradient tensor. */
    private void gemmInto(float[] a, int m, PackedMatrix b, MemorySegment dst, int n) {
        gemm(a, m, b, (s, row0, rows, c0, cols) -> {
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(s.tile, r * nc, dst, LE, ((long) (row0 + r) * n + c0) * Float.BYTES, cols);
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

    /** The transpose [cols, rows] of a row-major [rows, cols] array, in cache-sized squares over the participants. */
    private float[] transpose(float[] src, int rows, int cols) {
        float[] dst = new float[rows * cols];
        int square = 32;
        pool.forEachBlock(Math.ceilDiv(cols, square), () -> Boolean.TRUE, (unused, b) -> {
            int c0 = b * square;
            int c1 = Math.min(cols, c0 + square);
            for (int r0 = 0; r0 < rows; r0 += square) {
                int r1 = Math.min(rows, r0 + square);
                for (int c = c0; c < c1; c++) {
                    for (int r = r0; r < r1; r++) {
                        dst[c * rows + r] = src[r * cols + c];
                    }
                }
            }
        });
        return dst;
    }
}
