package dev.mxd.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Supplier;

/**
 * The cpu backend's one GEMM driver: {@code C = epilogue(A·B)} with B a {@link PackedMatrix}. The M rows of A are
 * cut into blocks ({@link RowBlocks}) shared out over the {@link WorkerPool}; a participant packs its block of A once
 * ({@link RowPacker}) and walks B's columns in tiles, each tile of C handed to an {@link Epilogue} while it is in
 * cache (a bias, an activation, a TopK, a store into the caller's layout). When there are too few row blocks for the
 * participants, each block's columns are split among several of them instead.
 *
 * <p>The forward pass of a layer runs several products on one packed block (gate, encoder, decoder): it takes
 * the plan from {@link RowBlocks} and the column walk from {@link #tiles}; everything else calls {@link #multiply}.
 * Each element of C is one chain of fused multiply-adds in order of k whatever the split ({@link Gemm}), so
 * results do not depend on the blocking or on {@code mxd.threads}.
 */
final class BlockedGemm {
    private BlockedGemm() {
    }

    /**
     * Applied to each tile of C: {@code tile[i·ld + j]} holds row {@code row0 + i}, column {@code col0 + j} of A·B
     * for i &lt; rows, j &lt; cols; the epilogue may rewrite the tile and stores what it needs.
     */
    @FunctionalInterface
    interface Epilogue {
        void apply(float[] tile, int ld, int row0, int rows, int col0, int cols);
    }

    /** Packs rows [row0, row0 + rows) of A into row panels ({@link Gemm#packRows}); {@code row} holds ≥ k floats. */
    @FunctionalInterface
    interface RowPacker {
        void pack(int row0, int rows, float[] row, float[] packed);
    }

    /** A [m, k] row-major in an array. */
    static RowPacker rowsOf(float[] a, int k, int mr) {
        return (row0, rows, row, packed) -> Gemm.packRows(a, row0 * k, k, rows, k, mr, packed);
    }

    /** A [m, k] row-major in a segment with the given byte order (e.g. a model's tensor, read where it is). */
    static RowPacker rowsOf(MemorySegment a, ValueLayout.OfFloat layout, int k, int mr) {
        return (row0, rows, row, packed) -> Gemm.packRows(a, layout, row0, rows, k, mr, row, packed);
    }

    /** A [m, k] given as its transpose, a row-major [k, m] array (the activations of a weight gradient). */
    static RowPacker columnsOf(float[] aTransposed, int m, int k, int mr) {
        return (row0, rows, row, packed) -> Gemm.packColumns(aTransposed, row0, m, rows, k, mr, packed);
    }

    /**
     * How a GEMM's M rows are cut into blocks: whole register panels of mr rows, at most {@code maxRows} per block,
     * the panels shared out evenly (block sizes differ by one panel at most), and as many blocks as a multiple of
     * the participants where there are enough panels, so that no thread idles at the end.
     *
     * @param total  M
     * @param panels ceil(M / mr)
     * @param blocks number of blocks
     * @param mr     rows per panel
     */
    record RowBlocks(int total, int panels, int blocks, int mr) {
        static RowBlocks of(int total, int maxRows, int mr, int participants) {
            int panels = Math.ceilDiv(total, mr);
            int blocks = Math.ceilDiv(panels, Math.max(1, maxRows / mr));
            blocks = blocks < participants ? Math.min(participants, panels) : Math.ceilDiv(blocks, participants) * participants;
            return new RowBlocks(total, panels, Math.min(blocks, panels), mr);
        }

        /** First row of block b. */
        int row0(int b) {
            return (int) ((long) b * panels / blocks) * mr;
        }

        /** Rows of block b. */
        int rows(int b) {
            return Math.min(row0(b + 1), total) - row0(b);
        }

        /** Rows of the largest block. */
        int maxRows() {
            return Math.min(Math.ceilDiv(panels, blocks) * mr, total);
        }

        /** Rows of the largest block rounded up to whole panels: the packed block's and a tile's height. */
        int paddedRows() {
            return Math.ceilDiv(maxRows(), mr) * mr;
        }
    }

    /**
     * One block's walk over B's columns [c0, c1): per tile of at most {@code ld} columns, {@code tile = A·B} then the
     * epilogue, left to right.
     *
     * @param aPacked the block of A, packed ({@link Gemm#packRows}, k = b.k)
     * @param tile    at least the block's padded rows × {@code ld} floats; {@code ld} a multiple of nr
     */
    static void tiles(Kernels kern, float[] aPacked, int row0, int rows, PackedMatrix b, int c0, int c1, float[] tile,
                      int ld, Epilogue epilogue) {
        for (int c = c0; c < c1; c += ld) {
            int cols = Math.min(ld, c1 - c);
            Gemm.multiply(kern, aPacked, rows, b, c, cols, tile, ld);
            epilogue.apply(tile, ld, row0, rows, c, cols);
        }
    }

    /** {@link #multiply(Kernels, WorkerPool, int, PackedMatrix, RowPacker, int, Supplier)} with one shared epilogue. */
    static void multiply(Kernels kern, WorkerPool pool, int m, PackedMatrix b, RowPacker packA, int tileCols,
                         Epilogue epilogue) {
        multiply(kern, pool, m, b, packA, tileCols, () -> epilogue);
    }

    /**
     * {@code epilogue(A·B)} for A of {@code m} rows that {@code packA} packs block by block, over the pool.
     *
     * @param tileCols       columns per tile before rounding to the register block ({@link Blocking})
     * @param perParticipant an epilogue per participant (one that keeps state, e.g. TopK heaps, across its tiles);
     *                       a participant's tiles of one row block come in order of columns
     */
    static void multiply(Kernels kern, WorkerPool pool, int m, PackedMatrix b, RowPacker packA, int tileCols,
                         Supplier<? extends Epilogue> perParticipant) {
        if (m == 0 || b.n == 0) {
            return;
        }
        int n = b.n;
        int k = b.k;
        int ld = Blocking.tileWidth(tileCols, kern.nr);
        RowBlocks plan = RowBlocks.of(m, Blocking.BLOCK_ROWS, kern.mr, pool.parallelism());
        // Too few row blocks for the threads: give each block's columns to several participants instead.
        int groups = Math.min(Math.ceilDiv(pool.parallelism(), plan.blocks()), Math.ceilDiv(n, ld));
        int groupCols = Math.ceilDiv(Math.ceilDiv(n, groups), ld) * ld;
        int padded = plan.paddedRows();
        try (Workspace ws = new Workspace()) {
            pool.forEachBlock(plan.blocks() * groups,
                    () -> new Scratch(ws.floats(padded * k), ws.floats(k), ws.floats(padded * ld), perParticipant.get()),
                    (s, task) -> {
                        int block = task / groups;
                        int row0 = plan.row0(block);
                        int rows = plan.rows(block);
                        int g0 = task % groups * groupCols;
                        packA.pack(row0, rows, s.row, s.aPacked);
                        tiles(kern, s.aPacked, row0, rows, b, g0, Math.min(n, g0 + groupCols), s.tile, ld, s.epilogue);
                    });
        }
    }

    /** One participant's packed block of A, a row of A being packed, its C tile and its epilogue. */
    private record Scratch(float[] aPacked, float[] row, float[] tile, Epilogue epilogue) {
    }
}
