package dev.mxd.cpu;

import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The W_cond [O, N] ↔ C [N, O] transposition (C = W_condᵀ: expert n's row c_n contiguous, for the gather and the
 * sparse gradient rows), in tiles of {@link Blocking#TRANSPOSE_OUTPUTS} × {@link Blocking#TRANSPOSE_EXPERTS} so
 * that neither side is read or written one element per cache line (W_cond's rows are N floats apart).
 * W_cond is F32 little-endian, as a model's tensor.
 */
final class Transpose {
    private Transpose() {
    }

    /** C [n, o] rows from W_cond [o, n] into {@code c} (at least n·o floats). */
    static void toRows(MemorySegment wCond, int o, int n, float[] c, WorkerPool pool) {
        walk(o, n, pool, (tile, n0, cols, o0, rows) -> {
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(wCond, Tensor.F32_LE, ((long) (o0 + r) * n + n0) * Float.BYTES, tile, r * cols, cols);
            }
            for (int j = 0; j < cols; j++) {
                for (int r = 0, d = (n0 + j) * o + o0; r < rows; r++) {
                    c[d + r] = tile[r * cols + j];
                }
            }
        });
    }

    /** W_cond [o, n] from C [n, o] rows. */
    static void toColumns(float[] c, int o, int n, MemorySegment wCond, WorkerPool pool) {
        walk(o, n, pool, (tile, n0, cols, o0, rows) -> {
            for (int j = 0; j < cols; j++) {
                for (int r = 0, s = (n0 + j) * o + o0; r < rows; r++) {
                    tile[r * cols + j] = c[s + r];
                }
            }
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(tile, r * cols, wCond, Tensor.F32_LE, ((long) (o0 + r) * n + n0) * Float.BYTES, cols);
            }
        });
    }

    /**
     * C [n, o] as an array, checked to fit one.
     *
     * @throws IllegalArgumentException when n·o floats do not fit one Java array
     */
    static float[] rowsOf(MemorySegment wCond, int o, int n, WorkerPool pool) {
        long size = (long) o * n;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("W_cond [" + o + ", " + n + "] has more elements than one Java array"
                    + " holds (2^31 - 16); the cpu backend cannot load it");
        }
        float[] c = new float[(int) size];
        toRows(wCond, o, n, c, pool);
        return c;
    }

    @FunctionalInterface
    private interface Tile {
        void run(float[] tile, int n0, int cols, int o0, int rows);
    }

    private static void walk(int o, int n, WorkerPool pool, Tile body) {
        int width = Blocking.TRANSPOSE_EXPERTS, height = Blocking.TRANSPOSE_OUTPUTS;
        try (Workspace ws = new Workspace()) {
            pool.forEachBlock(Math.ceilDiv(n, width), () -> ws.floats(width * height), (tile, b) -> {
                int n0 = b * width;
                int cols = Math.min(width, n - n0);
                for (int o0 = 0; o0 < o; o0 += height) {
                    body.run(tile, n0, cols, o0, Math.min(height, o - o0));
                }
            });
        }
    }
}
