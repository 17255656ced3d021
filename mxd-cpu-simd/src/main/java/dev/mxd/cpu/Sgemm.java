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
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
        MemorySegment as = Staging.in(a.asSlice(0, (long) m * k * Float.BYTES));
        MemorySegment bs = Staging.in(b.asSlice(0, (long) k * n * Float.BYTES));
        MemorySegment cDst = c.asSlice(0, (long) m * n * Float.BYTES);
        MemorySegment cs = Staging.out(cDst);
        try (Workspace ws = new Workspace()) {
            PackedMatrix packedB = PackedMatrix.ofRows("B", bs, f32, k, n, kern.nr, pool,
                    ws.floats(PackedMatrix.size("B", k, n, kern.nr)));
            BlockedGemm.multiply(kern, pool, m, packedB, BlockedGemm.rowsOf(as, f32, k, kern.mr),
                    Blocking.DENSE_TILE_COLS, (tile, ld, row0, rows, col0, cols) -> {
                        for (int r = 0; r < rows; r++) {
                            MemorySegment.copy(tile, r * ld, cs, f32, ((long) (row0 + r) * n + col0) * Float.BYTES, cols);
                        }
                    });
        }
        Staging.back(cs, cDst);
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
