package dev.mxd.cpu;

import dev.mxd.MxdBackendException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Single-precision matrix product on the cpu backend's kernels and worker threads: the GEMM every layer is built
 * from, offered on its own for benchmarks and tests.
 */
public final class Sgemm {
    /** Rows per block of A: its packed slice and the C tile stay in L2 (see {@code Gemm}). */
    private static final int BLOCK_ROWS = 192;
    /** Columns per C tile: with KC = 512, a 256 KiB slice of packed B per tile, held in L2 (see {@code Gemm}). */
    private static final int TILE_COLS = 128;

    private Sgemm() {
    }

    /**
     * {@code C = A·B} with A [m, k], B [k, n], C [m, n], all row-major float32 in native byte order. Both operands
     * are packed inside the call (B once, shared by all threads; A per block of rows) and the work is spread over
     * the {@code mxd.threads} worker threads, the caller included. C is overwritten; with k = 0 it is zeroed.
     * The segments stay owned by the caller and may be heap or native (a segment of a confined arena is copied
     * through the heap so the worker threads can use it); they must not overlap C.
     *
     * @throws IllegalArgumentException for a negative dimension, a segment smaller than its matrix, or a read-only C
     * @throws MxdBackendException      when the cpu kernels are unavailable in this JVM (e.g. the Vector API module is
     *                                  missing), with the fix
     */
    public static void multiply(int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("sgemm dimensions must be >= 0, got m = " + m + ", n = " + n + ", k = " + k);
        }
        requireFloats("A", a, m, k);
        requireFloats("B", b, k, n);
        requireFloats("C", c, m, n);
        if (c.isReadOnly()) {
            throw new IllegalArgumentException("C is a read-only segment");
        }
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            c.asSlice(0, (long) m * n * Float.BYTES).fill((byte) 0);
            return;
        }
        Kernels kern = kernels();
        WorkerPool pool = WorkerPool.shared();
        MemorySegment as = Staging.in(a.asSlice(0, (long) m * k * Float.BYTES));
        MemorySegment bs = Staging.in(b.asSlice(0, (long) k * n * Float.BYTES));
        MemorySegment cDst = c.asSlice(0, (long) m * n * Float.BYTES);
        MemorySegment cs = Staging.out(cDst);
        PackedMatrix packedB = PackedMatrix.ofRows("B", bs, ValueLayout.JAVA_FLOAT_UNALIGNED, k, n, kern.nr, pool, true);
        multiplyPacked(kern, pool, m, as, packedB, cs, null);
        packedB.recycle();
        Staging.back(cs, cDst);
    }

    /** Applied to each row of a C tile before it is stored, e.g. a bias and an activation. */
    @FunctionalInterface
    interface RowEpilogue {
        /** {@code tile[offset .. offset + cols)} holds row r's columns [col0, col0 + cols) of A·B; rewrite them in place. */
        void apply(float[] tile, int offset, int col0, int cols);
    }

    /**
     * {@code C = epilogue(A·B)} with A [m, b.k] row-major in {@code as}, B already packed, C [m, b.n] row-major in
     * {@code cs}; both segments readable and writable by the worker threads (see {@link Staging}).
     *
     * @param epilogue applied to every stored row of C, or null
     */
    static void multiplyPacked(Kernels kern, WorkerPool pool, int m, MemorySegment as, PackedMatrix b,
                               MemorySegment cs, RowEpilogue epilogue) {
        int n = b.n;
        int k = b.k;
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
        int nc = Math.max(kern.nr, TILE_COLS / kern.nr * kern.nr);
        Gemm.RowBlocks rowBlocks = Gemm.RowBlocks.of(m, BLOCK_ROWS, kern.mr, pool.parallelism());
        // Too few row blocks for the threads: give each block's columns to several participants instead.
        int colGroups = Math.min(Math.ceilDiv(pool.parallelism(), rowBlocks.blocks()), Math.ceilDiv(n, nc));
        int groupCols = Math.ceilDiv(Math.ceilDiv(n, colGroups), nc) * nc;
        int maxRows = rowBlocks.maxRows();
        int padded = Math.ceilDiv(maxRows, kern.mr) * kern.mr;
        pool.forEachBlock(rowBlocks.blocks() * colGroups, () -> new Scratch(maxRows, padded, k, nc),
                (s, task) -> {
                    int row0 = rowBlocks.row0(task / colGroups);
                    int rows = rowBlocks.rows(task / colGroups);
                    int g0 = task % colGroups * groupCols;
                    int g1 = Math.min(n, g0 + groupCols);
                    MemorySegment.copy(as, f32, (long) row0 * k * Float.BYTES, s.aRows, 0, rows * k);
                    Gemm.packRows(s.aRows, 0, k, rows, k, kern.mr, s.aPacked);
                    for (int c0 = g0; c0 < g1; c0 += nc) {
                        int cols = Math.min(nc, g1 - c0);
                        Gemm.multiply(kern, s.aPacked, rows, b, c0, cols, s.tile, nc);
                        for (int r = 0; r < rows; r++) {
                            if (epilogue != null) {
                                epilogue.apply(s.tile, r * nc, c0, cols);
                            }
                            MemorySegment.copy(s.tile, r * nc, cs, f32, ((long) (row0 + r) * n + c0) * Float.BYTES, cols);
                        }
                    }
                }, Scratch::recycle);
    }

    /** One participant's buffers, from {@link FloatArrays}: a block of A as rows and as packed panels, one C tile. */
    private record Scratch(float[] aRows, float[] aPacked, float[] tile) {
        Scratch(int rows, int padded, int k, int nc) {
            this(FloatArrays.take(rows * k), FloatArrays.take(padded * k), FloatArrays.take(padded * nc));
        }

        void recycle() {
            FloatArrays.give(aRows);
            FloatArrays.give(aPacked);
            FloatArrays.give(tile);
        }
    }

    static Kernels kernels() {
        try {
            return Kernels.get();
        } catch (IllegalStateException e) {
            throw new MxdBackendException("sgemm cannot run: " + e.getMessage(), e);
        }
    }

    private static void requireFloats(String name, MemorySegment s, int rows, int cols) {
        Objects.requireNonNull(s, name);
        long need = (long) rows * cols * Float.BYTES;
        if (s.byteSize() < need) {
            throw new IllegalArgumentException(name + " [" + rows + ", " + cols + "] needs " + need
                    + " bytes, the segment has " + s.byteSize());
        }
    }
}
