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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An MxD, TC or STC layer on the cpu backend. The T tokens of a call are cut into blocks of at most
 * {@link #BLOCK_ROWS} rows; participants of the {@link WorkerPool} take blocks and run the whole layer on each
 * (gate, encoder, decoder), so a block's inputs are packed once and its intermediate rows stay in cache. A call
 * too small for more than one block (a few tokens) is spread over the participants by column tiles instead, in two
 * phases: scores and hidden units, then outputs.
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
 * forward runs exactly the code of encode followed by decode, and each output element is computed by the same
 * operations whatever the block, tile or thread, so the two paths agree bit for bit and a token's results do not
 * depend on the other tokens of its call.
 *
 * <p>Thread safety: the packed weights are read-only after {@link #load}; every call makes its own scratch, sized
 * by the block (never by T or N). Caller segments from a confined arena go through {@link Staging}.
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
        PackedMatrix enc = PackedMatrix.ofRows("W_enc", data(model, "W_enc"), le, i, h, nr, pool, false);
        PackedMatrix glu = cfg.glu()
                ? PackedMatrix.ofTransposed("W_glu.weight", data(model, "W_glu.weight"), le, i, h, nr, pool) : null;
        PackedMatrix gate = isMxd ? PackedMatrix.ofTransposed("gate", data(model, "gate"), le, i, n, nr, pool) : null;
        PackedMatrix dec = isMxd ? PackedMatrix.ofRows("W_dec", data(model, "W_dec"), le, h, o, nr, pool, false) : null;
        PackedMatrix skipW = cfg.skip()
                ? PackedMatrix.ofTransposed("W_skip.weight", data(model, "W_skip.weight"), le, i, o, nr, pool) : null;
        Weights w = new Weights(enc, vector(model, "b_enc"), glu, cfg.glu() ? vector(model, "W_glu.bias") : null,
                gate, isMxd ? vector(model, "gate_bias") : null, isMxd ? transpose(model, "W_cond", o, n, pool) : null,
                dec, isMxd ? null : vector(model, "W_dec"), skipW, vector(model, "b_dec_out"));
        return new CpuLayer(cfg, kern, pool, w);
    }

    @Override
    protected void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        run(Op.FORWARD, x, tokens, codes, y);
    }

    @Override
    protected void encodeImpl(MemorySegment x, int tokens, Codes codes) {
        run(Op.ENCODE, x, tokens, codes, null);
    }

    @Override
    protected void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
        run(Op.DECODE, x, tokens, codes, y);
    }

    @Override
    protected void closeImpl() {
        weights = null;
    }

    private enum Op {
        FORWARD, ENCODE, DECODE;

        boolean selects() {
            return this != DECODE;
        }

        boolean decodes() {
            return this != ENCODE;
        }
    }

    private void run(Op op, MemorySegment x, int tokens, Codes codes, MemorySegment y) {
        Weights w = weights;
        if (w == null) {
            throw new IllegalStateException("this MxdLayer (backend " + CpuBackend.NAME + ") is closed");
        }
        boolean needX = op.selects() || mxd || skip;
        Call call = new Call(op, w, needX ? Staging.in(x) : x, op.selects() ? Staging.out(codes) : Staging.in(codes),
                y == null ? null : Staging.out(y), op.selects() ? k : codes.width(), needX);
        Gemm.RowBlocks plan = Gemm.RowBlocks.of(tokens, BLOCK_ROWS, kern.mr, pool.parallelism());
        if (plan.blocks() == 1 && pool.parallelism() > 1) {
            call.wide(tokens);
        } else {
            pool.forEachBlock(plan.blocks(), () -> call.new Scratch(plan.maxRows()),
                    (s, b) -> call.block(s.rows, s.tiles, plan.row0(b), plan.rows(b)), s -> {
                        s.rows.recycle();
                        s.tiles.recycle();
                    });
        }
        if (y != null) {
            Staging.back(call.y, y);
        }
        if (op.selects()) {
            Staging.back(call.codes, codes);
        }
    }

    /**
     * A block's rows: inputs, codes, and for an MxD decode z and m. Shared by the participants of a wide call. The
     * large arrays come from {@link FloatArrays} and go back with {@link #recycle}.
     */
    private final class Rows {
        final float[] xRows;
        final float[] xPacked;
        final float[] z;
        final float[] zPacked;
        final float[] m;
        final int[] codeIndex;
        final float[] codeValue;

        Rows(Call c, int rows) {
            int padded = Math.ceilDiv(rows, kern.mr) * kern.mr;
            xRows = c.needX ? FloatArrays.take(rows * inDim) : null;
            xPacked = c.needX ? FloatArrays.take(padded * inDim) : null;
            boolean mxdDecode = mxd && c.op.decodes();
            z = mxdDecode ? FloatArrays.take(rows * hidden) : null;
            zPacked = mxdDecode ? FloatArrays.take(padded * hidden) : null;
            m = mxdDecode ? FloatArrays.take(rows * outDim) : null;
            codeIndex = new int[rows * c.width];
            codeValue = new float[rows * c.width];
        }

        void recycle() {
            FloatArrays.give(xRows);
            FloatArrays.give(xPacked);
            FloatArrays.give(z);
            FloatArrays.give(zPacked);
            FloatArrays.give(m);
        }
    }

    /** One participant's epilogue tiles and, when selecting codes, its TopK heaps. */
    private final class Tiles {
        final float[] tile;
        final float[] tile2;
        final TopK topK;

        Tiles(int rows, boolean selecting) {
            int padded = Math.ceilDiv(rows, kern.mr) * kern.mr;
            tile = FloatArrays.take(padded * nc);
            tile2 = glu ? FloatArrays.take(padded * nc) : null;
            topK = selecting ? new TopK(rows, k) : null;
        }

        void recycle() {
            FloatArrays.give(tile);
            FloatArrays.give(tile2);
        }
    }

    /** One call: its operation, weights, (staged) segments and code width, and the steps it is made of. */
    private final class Call {
        final Op op;
        final Weights w;
        final MemorySegment x;
        final Codes codes;
        final MemorySegment y;
        final int width;
        final boolean needX;

        Call(Op op, Weights w, MemorySegment x, Codes codes, MemorySegment y, int width, boolean needX) {
            this.op = op;
            this.w = w;
            this.x = x;
            this.codes = codes;
            this.y = y;
            this.width = width;
            this.needX = needX;
        }

        /** A participant's scratch in a call by row blocks. */
        final class Scratch {
            final Rows rows;
            final Tiles tiles;

            Scratch(int rows) {
                this.rows = new Rows(Call.this, rows);
                this.tiles = new Tiles(rows, op.selects());
            }
        }

        /** The whole layer on rows [row0, row0 + count), by one participant. */
        void block(Rows r, Tiles t, int row0, int count) {
            if (needX) {
                loadInputs(r, row0, count);
            }
            if (op.selects()) {
                t.topK.clear(count);
                select(r, t, count, 0, scoreWidth());
                finishSelect(r, t.topK, row0, count);
            } else {
                readCodes(r, row0, count);
            }
            if (op.decodes()) {
                if (mxd) {
                    hidden(r, t, count, 0, hidden);
                    prepareDecode(r, count);
                }
                output(r, t, count, row0, 0, outDim);
            }
        }

        /**
         * The whole layer on all {@code count} rows as one block, its column tiles spread over the participants:
         * phase one scores (with a TopK per participant, merged after) and, for an MxD decode, the hidden units;
         * phase two the outputs, which need all of z and m.
         */
        void wide(int count) {
            Rows r = new Rows(this, count);
            if (needX) {
                loadInputs(r, 0, count);
            }
            if (!op.selects()) {
                readCodes(r, 0, count);
            }
            int scoreTiles = op.selects() ? Math.ceilDiv(scoreWidth(), nc) : 0;
            int hiddenTiles = mxd && op.decodes() ? Math.ceilDiv(hidden, nc) : 0;
            List<Tiles> parts = new CopyOnWriteArrayList<>();
            pool.forEachBlock(scoreTiles + hiddenTiles, () -> {
                Tiles t = new Tiles(count, op.selects());
                if (t.topK != null) {
                    t.topK.clear(count);
                }
                parts.add(t);
                return t;
            }, (t, u) -> {
                if (u < scoreTiles) {
                    select(r, t, count, u * nc, Math.min((u + 1) * nc, scoreWidth()));
                } else {
                    int c0 = (u - scoreTiles) * nc;
                    hidden(r, t, count, c0, Math.min(c0 + nc, hidden));
                }
            }, Tiles::recycle);
            if (op.selects()) {
                TopK all = parts.getFirst().topK;
                for (Tiles t : parts.subList(1, parts.size())) {
                    all.absorb(t.topK, count);
                }
                finishSelect(r, all, 0, count);
            }
            if (op.decodes()) {
                if (mxd) {
                    prepareDecode(r, count);
                }
                pool.forEachBlock(Math.ceilDiv(outDim, nc), () -> new Tiles(count, false),
                        (t, u) -> output(r, t, count, 0, u * nc, Math.min((u + 1) * nc, outDim)), Tiles::recycle);
            }
            r.recycle();
        }

        private int scoreWidth() {
            return mxd ? experts : hidden;
        }

        private void loadInputs(Rows r, int row0, int count) {
            MemorySegment.copy(x, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) row0 * inDim * Float.BYTES, r.xRows, 0,
                    count * inDim);
            Gemm.packRows(r.xRows, 0, inDim, count, inDim, kern.mr, r.xPacked);
        }

        /** Offers score columns [c0, c1) of every row to {@code t.topK}: relu(gate) for an MxD, z for a TC. */
        private void select(Rows r, Tiles t, int count, int c0, int c1) {
            for (int c = c0; c < c1; c += nc) {
                int cols = Math.min(nc, c1 - c);
                if (mxd) {
                    Gemm.multiply(kern, r.xPacked, count, w.gate, c, cols, t.tile, nc);
                    for (int row = 0; row < count; row++) {
                        kern.add(t.tile, row * nc, w.gateBias, c, cols);
                        kern.activate(Activation.RELU, t.tile, row * nc, cols);
                    }
                } else {
                    hiddenTile(r, t, count, c, cols);
                }
                for (int row = 0; row < count; row++) {
                    t.topK.offer(kern, row, t.tile, row * nc, cols, c);
                }
            }
        }

        /** The K codes of each row from the heaps, into {@code r} (where decode reads them) and the caller's table. */
        private void finishSelect(Rows r, TopK topK, int row0, int count) {
            for (int row = 0; row < count; row++) {
                topK.drain(row, r.codeIndex, r.codeValue, row * k);
            }
            long offset = (long) row0 * k * Integer.BYTES;
            MemorySegment.copy(r.codeIndex, 0, codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, offset, count * k);
            MemorySegment.copy(r.codeValue, 0, codes.valueSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset,
                    count * k);
        }

        private void readCodes(Rows r, int row0, int count) {
            long offset = (long) row0 * width * Integer.BYTES;
            MemorySegment.copy(codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, offset, r.codeIndex, 0,
                    count * width);
            MemorySegment.copy(codes.valueSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset, r.codeValue, 0,
                    count * width);
        }

        /** {@code tile = act(x·W_enc + b_enc) (⊙ (x·W_gluᵀ + b_glu))} for hidden units [c0, c0 + cols). */
        private void hiddenTile(Rows r, Tiles t, int count, int c0, int cols) {
            Gemm.multiply(kern, r.xPacked, count, w.enc, c0, cols, t.tile, nc);
            if (glu) {
                Gemm.multiply(kern, r.xPacked, count, w.glu, c0, cols, t.tile2, nc);
            }
            for (int row = 0; row < count; row++) {
                int o = row * nc;
                kern.add(t.tile, o, w.bEnc, c0, cols);
                kern.activate(act, t.tile, o, cols);
                if (glu) {
                    kern.add(t.tile2, o, w.bGlu, c0, cols);
                    kern.multiply(t.tile, o, t.tile2, o, cols);
                }
            }
        }

        /** z columns [c0, c1) of an MxD decode. */
        private void hidden(Rows r, Tiles t, int count, int c0, int c1) {
            for (int c = c0; c < c1; c += nc) {
                int cols = Math.min(nc, c1 - c);
                hiddenTile(r, t, count, c, cols);
                for (int row = 0; row < count; row++) {
                    System.arraycopy(t.tile, row * nc, r.z, row * hidden + c, cols);
                }
            }
        }

        /** After the codes and all of z: {@code m = Σⱼ valueⱼ · C[indexⱼ]} per row, and z packed for the decoder. */
        private void prepareDecode(Rows r, int count) {
            Arrays.fill(r.m, 0, count * outDim, 0f);
            for (int row = 0; row < count; row++) {
                gather(r, row, w.cond, 0, r.m, row * outDim, outDim);
            }
            Gemm.packRows(r.z, 0, hidden, count, hidden, kern.mr, r.zPacked);
        }

        /** Output columns [c0, c1) of every row into y. */
        private void output(Rows r, Tiles t, int count, int row0, int c0, int c1) {
            for (int c = c0; c < c1; c += nc) {
                int cols = Math.min(nc, c1 - c);
                if (mxd) {
                    Gemm.multiply(kern, r.zPacked, count, w.dec, c, cols, t.tile, nc);
                    for (int row = 0; row < count; row++) {
                        kern.multiply(t.tile, row * nc, r.m, row * outDim + c, cols);
                    }
                    if (skip) {
                        Gemm.accumulate(kern, r.xPacked, count, w.skip, c, cols, t.tile, nc);
                    }
                } else if (skip) {
                    Gemm.multiply(kern, r.xPacked, count, w.skip, c, cols, t.tile, nc);
                } else {
                    Arrays.fill(t.tile, 0, count * nc, 0f);
                }
                for (int row = 0; row < count; row++) {
                    int o = row * nc;
                    if (!mxd) {
                        gather(r, row, w.decRows, c, t.tile, o, cols);
                    }
                    kern.add(t.tile, o, w.bOut, c, cols);
                    MemorySegment.copy(t.tile, o, y, ValueLayout.JAVA_FLOAT_UNALIGNED,
                            ((long) (row0 + row) * outDim + c) * Float.BYTES, cols);
                }
            }
        }

        /**
         * {@code dst[dOff ..] += Σⱼ valueⱼ · table[indexⱼ][c0 .. c0 + cols)} over a row's codes, for a row-major
         * table of outDim columns (C for an MxD, W_dec for a TC): K rows, never a pass over all N experts. Zero
         * values are skipped: they contribute nothing (DESIGN §1).
         */
        private void gather(Rows r, int row, float[] table, int c0, float[] dst, int dOff, int cols) {
            for (int j = row * width, end = j + width; j < end; j++) {
                float v = r.codeValue[j];
                if (v != 0f) {
                    kern.axpy(v, table, r.codeIndex[j] * outDim + c0, dst, dOff, cols);
                }
            }
        }
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
