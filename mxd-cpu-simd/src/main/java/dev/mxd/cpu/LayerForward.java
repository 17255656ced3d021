package dev.mxd.cpu;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The forward pass of an MxD, TC or STC layer on {@link LayerWeights}: the one forward of the cpu backend, run by
 * inference ({@link CpuLayer}) and by training, which asks it to keep its intermediates ({@link Intermediates}).
 * The T tokens of a call are cut into row blocks ({@link BlockedGemm.RowBlocks}); participants of the
 * {@link WorkerPool} take blocks and run the whole layer on each (gate, encoder, decoder), so a block's inputs are
 * packed once and its intermediate rows stay in cache. A call too small for more than one block (a few tokens) is
 * spread over the participants by column tiles instead, in two phases: scores and hidden units, then outputs.
 *
 * <p>Per block, for an MxD (DESIGN §1, §8), each product walked in column tiles by {@link BlockedGemm#tiles} with
 * its epilogue:
 * <ol>
 * <li>gate: {@code x·gateᵀ}, then {@code + gate_bias}, relu and the per-token TopK in one scan of the tile
 *     ({@link TopK#offer(int, float[], int, float[], int, int, int, boolean)}); the T×N gate matrix exists
 *     only as one tile at a time;</li>
 * <li>{@code m = Cᵀa}: a gather of the K selected rows of C;</li>
 * <li>encoder: {@code z = act(x·W_enc + b_enc) (⊙ (x·W_gluᵀ + b_glu))};</li>
 * <li>decoder: {@code y = (z·W_dec) ⊙ m (+ x·W_skipᵀ) + b_dec_out} (the skip product accumulates onto the same
 *     tile after the ⊙ m).</li>
 * </ol>
 * A TC/STC runs the encoder with the TopK epilogue over the hidden units, then gathers K rows of W_dec. The fused
 * forward runs exactly the code of encode followed by decode, and each output element is computed by the same
 * operations whatever the block, tile or thread, so the two paths agree bit for bit and a token's results do not
 * depend on the other tokens of its call.
 *
 * <p>Thread safety: the weights are only read; every call takes its scratch from its own {@link Workspace}, sized by
 * the block (never by T or N). Caller segments from a confined arena go through {@link Staging}.
 */
final class LayerForward extends LayerPass {
    /** What a call does: select codes, decode given codes, or both. */
    enum Op {
        FORWARD, ENCODE, DECODE;

        boolean selects() {
            return this != DECODE;
        }

        boolean decodes() {
            return this != ENCODE;
        }
    }

    /**
     * Where a training forward keeps what its backward pass reads, row-major, T rows each (null: not kept or not of
     * this kind): {@code h} [T, H] the encoder's pre-activation {@code x·W_enc + b_enc}, {@code u} [T, H] the GLU
     * branch, {@code z} [T, H] the hidden units, for an MxD {@code base} [T, O] = z·W_dec and {@code m} [T, O], and
     * for GELU {@code cdf} [T, H] = Φ(h), which the backward pass's GELU' needs ({@link Kernels#geluKeepingCdf}).
     */
    record Intermediates(float[] h, float[] u, float[] z, float[] base, float[] m, float[] cdf) {
    }

    private final int nc;

    LayerForward(MxdConfig cfg, Kernels kern, WorkerPool pool) {
        super(cfg, kern, pool);
        this.nc = Blocking.tileWidth(Blocking.TILE_COLS, kern.nr);
    }

    /** The threads a call runs on. */
    int participants() {
        return pool.parallelism();
    }

    /**
     * Runs {@code op} on {@code tokens} rows.
     *
     * @param x     inputs [T, I] (not read by a TC decode without skip)
     * @param codes written by a selecting op, read by a decode
     * @param y     outputs [T, O], or null for an encode
     * @param keep  where to keep the intermediates, or null
     */
    void run(Op op, LayerWeights w, MemorySegment x, int tokens, Codes codes, MemorySegment y, Intermediates keep) {
        boolean needX = op.selects() || mxd || skip;
        Call call = new Call(op, w, needX ? Staging.in(x) : x, op.selects() ? Staging.out(codes) : Staging.in(codes),
                y == null ? null : Staging.out(y), op.selects() ? k : codes.width(), needX, keep);
        BlockedGemm.RowBlocks plan = BlockedGemm.RowBlocks.of(tokens, Blocking.BLOCK_ROWS, kern.mr, pool.parallelism());
        try (Workspace ws = new Workspace()) {
            if (plan.blocks() == 1 && pool.parallelism() > 1) {
                call.wide(ws, tokens);
            } else {
                pool.forEachBlock(plan.blocks(), () -> new Scratch(new Rows(ws, call, plan.maxRows()),
                        new Tiles(ws, plan.maxRows(), op.selects(), call.width)),
                        (s, b) -> call.block(s.rows, s.tiles, plan.row0(b), plan.rows(b)));
            }
        }
        if (y != null) {
            Staging.back(call.y, y);
        }
        if (op.selects()) {
            Staging.back(call.codes, codes);
        }
    }

    /** A participant's scratch in a call by row blocks. */
    private record Scratch(Rows rows, Tiles tiles) {
    }

    /** A block's rows: inputs, codes, and for an MxD decode z and m. Shared by the participants of a wide call. */
    private final class Rows {
        final float[] xRows;
        final float[] xPacked;
        final float[] z;
        final float[] zPacked;
        final float[] m;
        final int[] codeIndex;
        final float[] codeValue;

        Rows(Workspace ws, Call c, int rows) {
            int padded = Math.ceilDiv(rows, kern.mr) * kern.mr;
            xRows = c.needX ? ws.floats(rows * inDim) : null;
            xPacked = c.needX ? ws.floats(padded * inDim) : null;
            boolean mxdDecode = mxd && c.op.decodes();
            z = mxdDecode ? ws.floats(rows * hidden) : null;
            zPacked = mxdDecode ? ws.floats(padded * hidden) : null;
            m = mxdDecode ? ws.floats(rows * outDim) : null;
            codeIndex = new int[rows * c.width];
            codeValue = new float[rows * c.width];
        }
    }

    /** One participant's epilogue tiles, its list for {@link Call#gather} and, when selecting codes, its TopK heaps. */
    private final class Tiles {
        final float[] tile;
        final float[] tile2;
        final TopK topK;
        final CodeList codeList;

        Tiles(Workspace ws, int rows, boolean selecting, int width) {
            int padded = Math.ceilDiv(rows, kern.mr) * kern.mr;
            tile = ws.floats(padded * nc);
            tile2 = glu ? ws.floats(padded * nc) : null;
            topK = selecting ? new TopK(kern, rows, k) : null;
            codeList = new CodeList(new int[width], new float[width]);
        }
    }

    /** A row's non-zero codes, compacted: the table rows to gather and their scales. */
    private record CodeList(int[] rows, float[] scales) {
    }

    /** One call: its operation, weights, (staged) segments and code width, and the steps it is made of. */
    private final class Call {
        final Op op;
        final LayerWeights w;
        final MemorySegment x;
        final Codes codes;
        final MemorySegment y;
        final int width;
        final boolean needX;
        final Intermediates keep;

        Call(Op op, LayerWeights w, MemorySegment x, Codes codes, MemorySegment y, int width, boolean needX,
             Intermediates keep) {
            this.op = op;
            this.w = w;
            this.x = x;
            this.codes = codes;
            this.y = y;
            this.width = width;
            this.needX = needX;
            this.keep = keep;
        }

        /** The whole layer on rows [row0, row0 + count), by one participant. */
        void block(Rows r, Tiles t, int row0, int count) {
            if (needX) {
                loadInputs(r, row0, count);
            }
            if (op.selects()) {
                t.topK.clear(count);
                select(r, t, row0, count, 0, scoreWidth());
                finishSelect(r, t.topK, row0, count);
            } else {
                readCodes(r, row0, count);
            }
            if (op.decodes()) {
                if (mxd) {
                    hidden(r, t, row0, count, 0, hidden);
                    prepareDecode(r, t.codeList, row0, count);
                }
                output(r, t, count, row0, 0, outDim);
            }
        }

        /**
         * The whole layer on all {@code count} rows as one block, its column tiles spread over the participants:
         * phase one scores (with a TopK per participant, merged after) and, for an MxD decode, the hidden units;
         * phase two the outputs, which need all of z and m.
         */
        void wide(Workspace ws, int count) {
            Rows r = new Rows(ws, this, count);
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
                Tiles t = new Tiles(ws, count, op.selects(), width);
                if (t.topK != null) {
                    t.topK.clear(count);
                }
                parts.add(t);
                return t;
            }, (t, u) -> {
                if (u < scoreTiles) {
                    select(r, t, 0, count, u * nc, Math.min((u + 1) * nc, scoreWidth()));
                } else {
                    int c0 = (u - scoreTiles) * nc;
                    hidden(r, t, 0, count, c0, Math.min(c0 + nc, hidden));
                }
            });
            if (op.selects()) {
                TopK all = parts.getFirst().topK;
                for (Tiles t : parts.subList(1, parts.size())) {
                    all.absorb(t.topK, count);
                }
                finishSelect(r, all, 0, count);
            }
            if (op.decodes()) {
                if (mxd) {
                    prepareDecode(r, new CodeList(new int[width], new float[width]), 0, count);
                }
                pool.forEachBlock(Math.ceilDiv(outDim, nc), () -> new Tiles(ws, count, false, width),
                        (t, u) -> output(r, t, count, 0, u * nc, Math.min((u + 1) * nc, outDim)));
            }
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
        private void select(Rows r, Tiles t, int row0, int count, int c0, int c1) {
            if (mxd) {
                BlockedGemm.tiles(kern, r.xPacked, row0, count, w.gate(), c0, c1, t.tile, nc, (tile, ld, r0, rows, c, cols) -> {
                    for (int row = 0; row < rows; row++) {
                        t.topK.offer(row, tile, row * ld, w.gateBias(), c, cols, c, true);
                    }
                });
            } else {
                BlockedGemm.tiles(kern, r.xPacked, row0, count, w.enc(), c0, c1, t.tile, nc, (tile, ld, r0, rows, c, cols) -> {
                    hiddenTile(r, t, r0, rows, c, cols);
                    for (int row = 0; row < rows; row++) {
                        t.topK.offer(row, tile, row * ld, cols, c);
                    }
                });
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

        /**
         * The encoder's epilogue on {@code t.tile} = x·W_enc for hidden units [c0, c0 + cols): {@code act(· + b_enc)
         * (⊙ (x·W_gluᵀ + b_glu))}, keeping h, u and z for training.
         */
        private void hiddenTile(Rows r, Tiles t, int row0, int count, int c0, int cols) {
            if (glu) {
                Gemm.multiply(kern, r.xPacked, count, w.glu(), c0, cols, t.tile2, nc);
            }
            for (int row = 0; row < count; row++) {
                int o = row * nc;
                int kept = (row0 + row) * hidden + c0;
                kern.add(t.tile, o, w.bEnc(), c0, cols);
                if (keep != null) {
                    System.arraycopy(t.tile, o, keep.h(), kept, cols);
                }
                if (keep != null && keep.cdf() != null) {
                    kern.geluKeepingCdf(t.tile, o, keep.cdf(), kept, cols);
                } else {
                    kern.activate(act, t.tile, o, cols);
                }
                if (glu) {
                    kern.add(t.tile2, o, w.bGlu(), c0, cols);
                    kern.multiply(t.tile, o, t.tile2, o, cols);
                    if (keep != null) {
                        System.arraycopy(t.tile2, o, keep.u(), kept, cols);
                    }
                }
                if (keep != null) {
                    System.arraycopy(t.tile, o, keep.z(), kept, cols);
                }
            }
        }

        /** z columns [c0, c1) of an MxD decode. */
        private void hidden(Rows r, Tiles t, int row0, int count, int c0, int c1) {
            BlockedGemm.tiles(kern, r.xPacked, row0, count, w.enc(), c0, c1, t.tile, nc, (tile, ld, r0, rows, c, cols) -> {
                hiddenTile(r, t, r0, rows, c, cols);
                for (int row = 0; row < rows; row++) {
                    System.arraycopy(tile, row * ld, r.z, row * hidden + c, cols);
                }
            });
        }

        /** After the codes and all of z: {@code m = Σⱼ valueⱼ · C[indexⱼ]} per row, and z packed for the decoder. */
        private void prepareDecode(Rows r, CodeList list, int row0, int count) {
            Arrays.fill(r.m, 0, count * outDim, 0f);
            for (int row = 0; row < count; row++) {
                gather(r, list, row, w.cond(), 0, r.m, row * outDim, outDim);
            }
            if (keep != null) {
                System.arraycopy(r.m, 0, keep.m(), row0 * outDim, count * outDim);
            }
            Gemm.packRows(r.z, 0, hidden, count, hidden, kern.mr, r.zPacked);
        }

        /** Output columns [c0, c1) of every row into y. */
        private void output(Rows r, Tiles t, int count, int row0, int c0, int c1) {
            if (mxd) {
                BlockedGemm.tiles(kern, r.zPacked, row0, count, w.dec(), c0, c1, t.tile, nc, (tile, ld, r0, rows, c, cols) -> {
                    for (int row = 0; row < rows; row++) {
                        if (keep != null) {
                            System.arraycopy(tile, row * ld, keep.base(), (r0 + row) * outDim + c, cols);
                        }
                        kern.multiply(tile, row * ld, r.m, row * outDim + c, cols);
                    }
                    if (skip) {
                        Gemm.accumulate(kern, r.xPacked, rows, w.skip(), c, cols, tile, ld);
                    }
                    store(r, t.codeList, tile, ld, r0, rows, c, cols);
                });
            } else if (skip) {
                BlockedGemm.tiles(kern, r.xPacked, row0, count, w.skip(), c0, c1, t.tile, nc,
                        (tile, ld, r0, rows, c, cols) -> store(r, t.codeList, tile, ld, r0, rows, c, cols));
            } else {
                for (int c = c0; c < c1; c += nc) {
                    int cols = Math.min(nc, c1 - c);
                    Arrays.fill(t.tile, 0, count * nc, 0f);
                    store(r, t.codeList, t.tile, nc, row0, count, c, cols);
                }
            }
        }

        /** The last of the decoder's epilogue: a TC's gather, {@code + b_dec_out}, and the rows into y. */
        private void store(Rows r, CodeList list, float[] tile, int ld, int row0, int rows, int c0, int cols) {
            for (int row = 0; row < rows; row++) {
                int o = row * ld;
                if (!mxd) {
                    gather(r, list, row, w.decRows(), c0, tile, o, cols);
                }
                kern.add(tile, o, w.bOut(), c0, cols);
                MemorySegment.copy(tile, o, y, ValueLayout.JAVA_FLOAT_UNALIGNED,
                        ((long) (row0 + row) * outDim + c0) * Float.BYTES, cols);
            }
        }

        /**
         * {@code dst[dOff ..] += Σⱼ valueⱼ · table[indexⱼ][c0 .. c0 + cols)} over a row's codes, for a row-major
         * table of outDim columns (C for an MxD, W_dec for a TC): K rows, never a pass over all N experts, read
         * several at a time ({@link Kernels#scaledRowSum}). Zero values are skipped: they contribute nothing
         * (DESIGN §1).
         */
        private void gather(Rows r, CodeList list, int row, float[] table, int c0, float[] dst, int dOff, int cols) {
            int count = 0;
            for (int j = row * width, end = j + width; j < end; j++) {
                float v = r.codeValue[j];
                if (v != 0f) {
                    list.rows[count] = r.codeIndex[j];
                    list.scales[count++] = v;
                }
            }
            kern.scaledRowSum(table, outDim, c0, list.rows, list.scales, count, dst, dOff, cols);
        }
    }
}
