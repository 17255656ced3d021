package dev.mxd.cpu;

import dev.mxd.MxdConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The backward pass of the normalised loss (DESIGN §2) on the cpu backend, after a forward that kept its
 * intermediates ({@link TrainingBatch}), writing every gradient in its parameter's kernel layout
 * ({@link TrainingParameters}). The float64 oracle {@code OracleBackward} is the specification; the notation is
 * its. The dense products run on the one GEMM driver ({@link BlockedGemm}):
 * {@code dW_enc = xᵀ·dh}, {@code dW_gluᵀ = xᵀ·du}, {@code dW_skipᵀ = xᵀ·dy} (each straight into the packed panels
 * the forward reads), {@code dW_dec = zᵀ·dbase} and {@code dz = dbase·W_decᵀ}; the sparse rows are
 * {@link ExpertGradients}'. Bias gradients are summed in token order by one participant per column range, so
 * results do not depend on {@code mxd.threads}.
 */
final class Backward extends LayerPass {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ExpertGradients sparse;

    Backward(MxdConfig cfg, Kernels kern, WorkerPool pool) {
        super(cfg, kern, pool);
        this.sparse = new ExpertGradients(cfg, kern, pool);
    }

    /** (token, code) pairs the last sparse pass visited. */
    long sparsePairsVisited() {
        return sparse.pairsVisited();
    }

    /** Every gradient of the batch's first {@code tokens} rows into {@code p}'s gradient arrays. */
    void run(TrainingParameters p, TrainingBatch b, int tokens, boolean project) {
        LayerForward.Intermediates kept = b.kept;
        long time = PhaseTimes.start();
        // dy = 2(y − t) / (‖t‖·T·O)
        double scale = 2.0 / ((double) tokens * outDim);
        forRows(tokens, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                float f = (float) (scale / b.norms[r]);
                for (int o = r * outDim, end = o + outDim; o < end; o++) {
                    b.dy[o] = (b.y[o] - b.t[o]) * f;
                }
            }
        });
        columnSums(b.dy, tokens, outDim, p.slot("b_dec_out").grad());
        time = PhaseTimes.end("dy", time);
        if (skip) {
            weightGradient(b.x, tokens, inDim, rowsPacked("dy", b.dy, tokens, outDim, b.dyPanels),
                    p.packed("W_skip.weight", true));
            time = PhaseTimes.end("GEMM dW_skip", time);
        }
        if (mxd) {
            forRows(tokens, (r0, r1) -> {
                for (int e = r0 * outDim; e < r1 * outDim; e++) {
                    b.dBase[e] = b.dy[e] * kept.m()[e];
                    b.dm[e] = b.dy[e] * kept.base()[e];
                }
            });
            time = PhaseTimes.end("dbase, dm", time);
            sparse.mxd(b, tokens, p.slot("W_cond").value(), p.slot("W_cond").grad(), p.packed("gate", true),
                    p.slot("gate_bias").grad(), project);
            time = PhaseTimes.end("sparse expert gradients + projection", time);
            PackedMatrix dBase = rowsPacked("dbase", b.dBase, tokens, outDim, b.dBasePanels);
            time = PhaseTimes.end("pack dbase", time);
            weightGradient(kept.z(), tokens, hidden, dBase, p.packed("W_dec", true));
            time = PhaseTimes.end("GEMM dW_dec", time);
            PackedMatrix decT = p.weights.dec().transposed(b.decTransposed, pool);
            time = PhaseTimes.end("W_dec transposed", time);
            BlockedGemm.multiply(kern, pool, tokens, decT, BlockedGemm.rowsOf(b.dBase, outDim, kern.mr),
                    Blocking.TILE_COLS, (tile, ld, row0, rows, c0, cols) -> {
                        for (int r = 0; r < rows; r++) {
                            System.arraycopy(tile, r * ld, b.dz, (row0 + r) * hidden + c0, cols);
                        }
                    });
            time = PhaseTimes.end("GEMM dz", time);
        } else {
            sparse.transcoder(b, tokens, p.slot("W_dec").value(), p.slot("W_dec").grad(), project);
            time = PhaseTimes.end("sparse unit gradients + projection", time);
        }
        activationGradients(b, tokens);
        PackedMatrix dh = rowsPacked("dh", b.dh, tokens, hidden, b.dhPanels);
        time = PhaseTimes.end("dh (activation derivative), pack dh", time);
        weightGradient(b.x, tokens, inDim, dh, p.packed("W_enc", true));
        time = PhaseTimes.end("GEMM dW_enc", time);
        columnSums(b.dh, tokens, hidden, p.slot("b_enc").grad());
        time = PhaseTimes.end("bias sums", time);
        if (glu) {
            weightGradient(b.x, tokens, inDim, rowsPacked("du", b.du, tokens, hidden, b.duPanels),
                    p.packed("W_glu.weight", true));
            columnSums(b.du, tokens, hidden, p.slot("W_glu.bias").grad());
            PhaseTimes.end("GLU gradients", time);
        }
    }

    /**
     * {@code dact = dz ⊙ u;  du = dz ⊙ act(h);  dh = dact ⊙ act'(h)}, act' by the vector kernels (GELU's from the Φ(h)
     * the forward pass kept); a zero dz gives exact zeros.
     */
    private void activationGradients(TrainingBatch b, int tokens) {
        float[] h = b.kept.h();
        float[] u = b.kept.u();
        forRows(tokens, (r0, r1) -> {
            float[] a = glu ? new float[hidden] : null;
            float[] d = new float[hidden];
            float[] scratch = new float[hidden];
            for (int r = r0; r < r1; r++) {
                int o = r * hidden;
                if (b.kept.cdf() != null) {
                    System.arraycopy(b.kept.cdf(), o, d, 0, hidden);
                    kern.geluDerivativeFromCdf(h, o, d, scratch, hidden);
                } else {
                    kern.derivative(act, h, o, d, scratch, hidden);
                }
                if (!glu) {
                    kern.gatedProduct(b.dz, o, d, b.dh, o, hidden);
                    continue;
                }
                System.arraycopy(h, o, a, 0, hidden);
                kern.activate(act, a, 0, hidden);
                for (int j = 0; j < hidden; j++) {
                    float dz = b.dz[o + j];
                    if (dz == 0f) {
                        b.dh[o + j] = 0f;
                        b.du[o + j] = 0f;
                        continue;
                    }
                    b.du[o + j] = dz * a[j];
                    b.dh[o + j] = dz * u[o + j] * d[j];
                }
            }
        });
    }

    /** The first {@code rows} rows of a row-major [·, cols] array as a GEMM operand B [rows, cols]. */
    private PackedMatrix rowsPacked(String name, float[] a, int rows, int cols, float[] panels) {
        return PackedMatrix.ofRows(name, MemorySegment.ofArray(a), F32, rows, cols, kern.nr, pool, panels);
    }

    /**
     * A weight gradient {@code Sᵀ·B} for S [tokens, cols] row-major (the activations), straight into the packed
     * panels {@code dst} [cols, b.n].
     */
    private void weightGradient(float[] s, int tokens, int cols, PackedMatrix b, PackedMatrix dst) {
        BlockedGemm.multiply(kern, pool, cols, b, BlockedGemm.columnsOf(s, cols, tokens, kern.mr), Blocking.TILE_COLS,
                (tile, ld, row0, rows, c0, width) -> {
                    for (int i = 0; i < rows; i++) {
                        dst.storeRow(tile, i * ld, row0 + i, c0, width);
                    }
                });
    }

    /** {@code dst[c] = Σ_t v[t·cols + c]} summed in token order. */
    private void columnSums(float[] v, int tokens, int cols, float[] dst) {
        int chunk = Math.max(kern.nr, Math.ceilDiv(Math.ceilDiv(cols, 4 * pool.parallelism()), kern.nr) * kern.nr);
        pool.forEachBlock(Math.ceilDiv(cols, chunk), () -> Boolean.TRUE, (unused, blk) -> {
            int c0 = blk * chunk;
            int n = Math.min(chunk, cols - c0);
            java.util.Arrays.fill(dst, c0, c0 + n, 0f);
            for (int r = 0; r < tokens; r++) {
                kern.add(dst, c0, v, r * cols + c0, n);
            }
        });
    }

    @FunctionalInterface
    private interface RowRange {
        void run(int r0, int r1);
    }

    private void forRows(int rows, RowRange body) {
        int chunk = Blocking.ROW_CHUNK;
        pool.forEachBlock(Math.ceilDiv(rows, chunk), () -> Boolean.TRUE,
                (unused, blk) -> body.run(blk * chunk, Math.min(rows, (blk + 1) * chunk)));
    }
}
