package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * An MxD, TC or STC layer on the cpu backend. The T tokens of a call are cut into blocks of at most
 * {@link #BLOCK_ROWS} rows; participants of the {@link WorkerPool} take blocks and run the whole layer on each
 * (gate, encoder, decoder), so a block's inputs are packed once and its intermediate rows stay in cache.
 *
 * <p>Per block, for an MxD (DESIGN §1, §8):
 * <ol>
 * <li>gate: for each tile of {@link #TILE_COLS} experts, {@code x·gateᵀ} by GEMM, then {@code + gate_bias},
 *     relu and the per-token TopK in the epilogue; the T×N gate matrix exists only as one tile at a time;</li>
 * <li>{@code m = Cᵀa}: a gather of the K selected rows of C = W_condᵀ (stored [N, O] at load);</li>
 * <li>encoder: {@code z = act(x·W_enc + b_enc) (⊙ (x·W_gluᵀ + b_glu))}, GEMM with that epilogue;</li>
 * <li>decoder: {@code y = (z·W_dec) ⊙ m (+ x·W_skipᵀ) + b_dec_out}, GEMM with that epilogue (the skip product
 *     accumulates onto the same tile after the ⊙ m).</li>
 * </ol>
 * A TC/STC runs the encoder with the TopK epilogue over the hidden units, then gathers K rows of W_dec. The fused
 * forward runs exactly the code of encode followed by decode, so the two paths agree bit for bit.
 *
 * <p>Thread safety: the packed weights are read-only after {@link #load}; every call makes its own scratch, one
 * per participant, sized by the block (never by T or N). Caller segments from a confined arena go through
 * {@link Staging}.
 */
final class CpuLayer extends MxdLayer {
    /** Upper bound on rows per block: a block's packed inputs and tile stay in L2 (see {@link Gemm}). */
    static final int BLOCK_ROWS = 192;
    /** Columns per epilogue tile (rounded down to a multiple of the register block's columns). */
    static final int TILE_COLS = 256;

    private final Kernels kern;
    private final WorkerPool pool;
    private final int inDim, hidden, outDim, experts, k;
    private final Activation act;
    private final boolean mxd, glu, skip;
    private final int nc;
    /** Null once closed; calls read it once, so a call racing with close finishes on the weights it began with. */
    private volatile Weights weights;

    /** The packed weights; null fields are parts this kind of layer does not have. */
    private record Weights(PackedMatrix enc, float[] bEnc, PackedMatrix glu, float[] bGlu,
                           PackedMatrix gate, float[] gateBias, float[] cond,
                           PackedMatrix dec, float[] decRows, PackedMatrix skip, float[] bOut) {
    }

    private CpuLayer(MxdConfig cfg, Kernels kern, WorkerPool pool, Weights weights) {
        super(cfg, CpuBackend.NAME);
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
        this.weights = weights;
    }

    /** Packs every weight of {@code model} for {@code kern}; nothing of the model is kept. */
    static CpuLayer load(MxdModel model, Kernels kern, WorkerPool pool) {
        MxdConfig cfg = model.config();
        int i = cfg.inputDim(), h = cfg.hiddenDim(), o = cfg.outputDim(), n = cfg.experts();
        int nr = kern.nr;
        ValueLayout.OfFloat le = Tensor.F32_LE;
        boolean isMxd = cfg.kind() == Kind.MXD;
        PackedMatrix enc = PackedMatrix.ofRows("W_enc", data(model, "W_enc"), le, i, h, nr, pool);
        PackedMatrix glu = cfg.glu()
                ? PackedMatrix.ofTransposed("W_glu.weight", data(model, "W_glu.weight"), le, i, h, nr, pool) : null;
        PackedMatrix gate = isMxd ? PackedMatrix.ofTransposed("gate", data(model, "gate"), le, i, n, nr, pool) : null;
        PackedMatrix dec = isMxd ? PackedMatrix.ofRows("W_dec", data(model, "W_dec"), le, h, o, nr, pool) : null;
        PackedMatrix skipW = cfg.skip()
                ? PackedMatrix.ofTransposed("W_skip.weight", data(model, "W_skip.weight"), le, i, o, nr, pool) : null;
        Weights w = new Weights(enc, vector(model, "b_enc"), glu, cfg.glu() ? vector(model, "W_glu.bias") : null,
                gate, isMxd ? vector(model, "gate_bias") : null, isMxd ? transpose(model, "W_cond", o, n, pool) : null,
                dec, isMxd ? null : vector(model, "W_dec"), skipW, vector(model, "b_dec_out"));
        return new CpuLayer(cfg, kern, pool, w);
    }

    @Override
    protected void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        Weights w = weights();
        MemorySegment xs = Staging.in(x);
        MemorySegment ys = Staging.out(y);
        Codes cs = Staging.out(codes);
        forEachBlock(tokens, rows -> new Workspace(rows, k, true, true, true), (ws, row0, rows) -> {
            loadInputs(ws, xs, row0, rows);
            select(w, ws, rows);
            writeCodes(ws, cs, row0, rows);
            decode(w, ws, rows, k, ys, row0);
        });
        Staging.back(ys, y);
        Staging.back(cs, codes);
    }

    @Override
    protected void encodeImpl(MemorySegment x, int tokens, Codes codes) {
        Weights w = weights();
        MemorySegment xs = Staging.in(x);
        Codes cs = Staging.out(codes);
        forEachBlock(tokens, rows -> new Workspace(rows, k, true, true, false), (ws, row0, rows) -> {
            loadInputs(ws, xs, row0, rows);
            select(w, ws, rows);
            writeCodes(ws, cs, row0, rows);
        });
        Staging.back(cs, codes);
    }

    @Override
    protected void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
        Weights w = weights();
        int width = codes.width();
        boolean needX = mxd || skip;
        MemorySegment xs = needX ? Staging.in(x) : x;
        Codes cs = Staging.in(codes);
        MemorySegment ys = Staging.out(y);
        forEachBlock(tokens, rows -> new Workspace(rows, width, needX, false, true), (ws, row0, rows) -> {
            if (needX) {
                loadInputs(ws, xs, row0, rows);
            }
            readCodes(ws, cs, row0, rows);
            decode(w, ws, rows, width, ys, row0);
        });
        Staging.back(ys, y);
    }

    /** The work on rows [row0, row0 + rows) of a call. */
    @FunctionalInterface
    private interface BlockBody {
        void run(Workspace ws, int row0, int rows);
    }

    /** Cuts the tokens into blocks and runs {@code body} on each, one workspace per participant. */
    private void forEachBlock(int tokens, IntFunction<Workspace> scratch, BlockBody body) {
        Gemm.RowBlocks plan = Gemm.RowBlocks.of(tokens, BLOCK_ROWS, kern.mr, pool.parallelism());
        pool.forEachBlock(plan.blocks(), () -> scratch.apply(plan.rows()), (ws, b) -> {
            int row0 = b * plan.rows();
            body.run(ws, row0, Math.min(plan.rows(), tokens - row0));
        });
    }

    @Override
    protected void closeImpl() {
        weights = null;
    }

    private Weights weights() {
        Weights w = weights;
        if (w == null) {
            throw new IllegalStateException("this MxdLayer (backend " + CpuBackend.NAME + ") is closed");
        }
        return w;
    }

    /**
     * One participant's scratch for one call, holding only what the call needs: the block's inputs, the TopK heaps
     * when selecting codes, z and m when decoding an MxD. {@code codeWidth} is K, or the width of decoded codes.
     */
    private final class Workspace {
        final float[] xRows;
        final float[] xPacked;
        final float[] tile;
        final float[] tile2;
        final float[] z;
        final float[] zPacked;
        final float[] m;
        final TopK topK;
        final int[] codeIndex;
        final float[] codeValue;

        Workspace(int rows, int codeWidth, boolean inputs, boolean selecting, boolean decoding) {
            int padded = Math.ceilDiv(rows, kern.mr) * kern.mr;
            xRows = inputs ? new float[rows * inDim] : null;
            xPacked = inputs ? new float[padded * inDim] : null;
            tile = new float[padded * nc];
            tile2 = glu ? new float[padded * nc] : null;
            boolean mxdDecode = mxd && decoding;
            z = mxdDecode ? new float[rows * hidden] : null;
            zPacked = mxdDecode ? new float[padded * hidden] : null;
            m = mxdDecode ? new float[rows * outDim] : null;
            topK = selecting ? new TopK(rows, k) : null;
            codeIndex = new int[rows * codeWidth];
            codeValue = new float[rows * codeWidth];
        }
    }

    private void loadInputs(Workspace ws, MemorySegment x, int row0, int rows) {
        MemorySegment.copy(x, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) row0 * inDim * Float.BYTES, ws.xRows, 0,
                rows * inDim);
        Gemm.packRows(ws.xRows, 0, inDim, rows, inDim, kern.mr, ws.xPacked);
    }

    /** The K codes of each row into {@code ws.codeIndex/codeValue}: TopK over relu(gate) or over z. */
    private void select(Weights w, Workspace ws, int rows) {
        ws.topK.clear(rows);
        int width = mxd ? experts : hidden;
        for (int c0 = 0; c0 < width; c0 += nc) {
            int cols = Math.min(nc, width - c0);
            if (mxd) {
                Gemm.multiply(kern, ws.xPacked, rows, w.gate, c0, cols, ws.tile, nc);
                for (int r = 0; r < rows; r++) {
                    kern.add(ws.tile, r * nc, w.gateBias, c0, cols);
                    kern.activate(Activation.RELU, ws.tile, r * nc, cols);
                }
            } else {
                hiddenTile(w, ws, rows, c0, cols);
            }
            for (int r = 0; r < rows; r++) {
                ws.topK.offer(kern, r, ws.tile, r * nc, cols, c0);
            }
        }
        for (int r = 0; r < rows; r++) {
            ws.topK.drain(r, ws.codeIndex, ws.codeValue, r * k);
        }
    }

    /** {@code tile = act(x·W_enc + b_enc) (⊙ (x·W_gluᵀ + b_glu))} for hidden units [c0, c0 + cols). */
    private void hiddenTile(Weights w, Workspace ws, int rows, int c0, int cols) {
        Gemm.multiply(kern, ws.xPacked, rows, w.enc, c0, cols, ws.tile, nc);
        if (glu) {
            Gemm.multiply(kern, ws.xPacked, rows, w.glu, c0, cols, ws.tile2, nc);
        }
        for (int r = 0; r < rows; r++) {
            int o = r * nc;
            kern.add(ws.tile, o, w.bEnc, c0, cols);
            kern.activate(act, ws.tile, o, cols);
            if (glu) {
                kern.add(ws.tile2, o, w.bGlu, c0, cols);
                kern.multiply(ws.tile, o, ws.tile2, o, cols);
            }
        }
    }

    /** y for rows [0, rows) of the block from the codes in {@code ws} ({@code width} pairs per row). */
    private void decode(Weights w, Workspace ws, int rows, int width, MemorySegment y, int row0) {
        if (mxd) {
            gatherExperts(w, ws, rows, width);
            for (int c0 = 0; c0 < hidden; c0 += nc) {
                int cols = Math.min(nc, hidden - c0);
                hiddenTile(w, ws, rows, c0, cols);
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(ws.tile, r * nc, ws.z, r * hidden + c0, cols);
                }
            }
            Gemm.packRows(ws.z, 0, hidden, rows, hidden, kern.mr, ws.zPacked);
        }
        for (int c0 = 0; c0 < outDim; c0 += nc) {
            int cols = Math.min(nc, outDim - c0);
            if (mxd) {
                Gemm.multiply(kern, ws.zPacked, rows, w.dec, c0, cols, ws.tile, nc);
                for (int r = 0; r < rows; r++) {
                    kern.multiply(ws.tile, r * nc, ws.m, r * outDim + c0, cols);
                }
                if (skip) {
                    Gemm.accumulate(kern, ws.xPacked, rows, w.skip, c0, cols, ws.tile, nc);
                }
            } else if (skip) {
                Gemm.multiply(kern, ws.xPacked, rows, w.skip, c0, cols, ws.tile, nc);
            } else {
                Arrays.fill(ws.tile, 0, rows * nc, 0f);
            }
            for (int r = 0; r < rows; r++) {
                int o = r * nc;
                if (!mxd) {
                    gather(ws, r, width, w.decRows, c0, ws.tile, o, cols);
                }
                kern.add(ws.tile, o, w.bOut, c0, cols);
                MemorySegment.copy(ws.tile, o, y, ValueLayout.JAVA_FLOAT_UNALIGNED,
                        ((long) (row0 + r) * outDim + c0) * Float.BYTES, cols);
            }
        }
    }

    /** {@code m = Σⱼ valueⱼ · C[indexⱼ]} for every row: K rows of C, never a pass over all N experts. */
    private void gatherExperts(Weights w, Workspace ws, int rows, int width) {
        Arrays.fill(ws.m, 0, rows * outDim, 0f);
        for (int r = 0; r < rows; r++) {
            gather(ws, r, width, w.cond, 0, ws.m, r * outDim, outDim);
        }
    }

    /**
     * {@code dst[dOff ..] += Σⱼ valueⱼ · table[indexⱼ][c0 .. c0 + cols)} over row r's codes, for a row-major table
     * of outDim columns. Zero values are skipped: they contribute nothing (DESIGN §1).
     */
    private void gather(Workspace ws, int r, int width, float[] table, int c0, float[] dst, int dOff, int cols) {
        for (int j = r * width, end = j + width; j < end; j++) {
            float v = ws.codeValue[j];
            if (v != 0f) {
                kern.axpy(v, table, ws.codeIndex[j] * outDim + c0, dst, dOff, cols);
            }
        }
    }

    private void writeCodes(Workspace ws, Codes codes, int row0, int rows) {
        long offset = (long) row0 * k * Integer.BYTES;
        MemorySegment.copy(ws.codeIndex, 0, codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, offset, rows * k);
        MemorySegment.copy(ws.codeValue, 0, codes.valueSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset, rows * k);
    }

    private static void readCodes(Workspace ws, Codes codes, int row0, int rows) {
        int width = codes.width();
        long offset = (long) row0 * width * Integer.BYTES;
        MemorySegment.copy(codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, offset, ws.codeIndex, 0, rows * width);
        MemorySegment.copy(codes.valueSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset, ws.codeValue, 0,
                rows * width);
    }

    private static MemorySegment data(MxdModel model, String name) {
        return model.tensor(name).data();
    }

    private static float[] vector(MxdModel model, String name) {
        return data(model, name).toArray(Tensor.F32_LE);
    }

    /** C = W_condᵀ as [N, O] rows, so that expert n's c_n is one contiguous row for the gather. */
    private static float[] transpose(MxdModel model, String name, int rows, int cols, WorkerPool pool) {
        MemorySegment src = data(model, name);
        long size = (long) rows * cols;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(name + " [" + rows + ", " + cols + "] has more elements than one Java"
                    + " array holds (2^31 - 16); the cpu backend cannot load it");
        }
        float[] t = new float[(int) size];
        int chunk = Math.max(1, Math.ceilDiv(cols, 4 * pool.parallelism()));
        pool.forEachBlock(Math.ceilDiv(cols, chunk), () -> new float[chunk], (buf, b) -> {
            int c0 = b * chunk;
            int n = Math.min(chunk, cols - c0);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(src, Tensor.F32_LE, ((long) r * cols + c0) * Float.BYTES, buf, 0, n);
                for (int c = 0; c < n; c++) {
                    t[(c0 + c) * rows + r] = buf[c];
                }
            }
        });
        return t;
    }
}
