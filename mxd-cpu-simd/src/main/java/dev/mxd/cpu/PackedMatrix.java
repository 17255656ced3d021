package dev.mxd.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The right-hand operand B [k, n] of a GEMM, packed into column panels for the micro-kernel: panel p holds
 * columns [p·nr, p·nr + nr) as k consecutive rows of nr floats (zero past column n), so the micro-kernel reads
 * one panel front to back and any range of its rows is contiguous. Weights are packed once, when a model is
 * loaded; {@link Sgemm} packs its B per call.
 */
final class PackedMatrix {
    /** Rows of B: the reduction dimension. */
    final int k;
    /** Columns of B. */
    final int n;
    /** Columns per panel. */
    final int nr;
    /** ceil(n / nr) panels of k·nr floats. */
    final float[] data;

    private PackedMatrix(String name, int k, int n, int nr, boolean recycled, PackedMatrix reuse) {
        this.k = k;
        this.n = n;
        this.nr = nr;
        int size = checkedSize(name, k, n, nr);
        if (reuse != null && reuse.data.length >= size) {
            this.data = reuse.data;
        } else {
            this.data = recycled ? FloatArrays.take(size) : new float[size];
        }
    }

    /** Hands the panels of a per-call operand back to {@link FloatArrays}; this object is unusable afterwards. */
    void recycle() {
        FloatArrays.give(data);
    }

    /** Offset in {@link #data} of row {@code row} of the panel that starts at column {@code col} (a multiple of nr). */
    int offset(int col, int row) {
        return (col / nr) * k * nr + row * nr;
    }

    int panels() {
        return Math.ceilDiv(n, nr);
    }

    /**
     * Packs B [k, n] stored row-major ({@code src[r·n + j]}, e.g. {@code W_enc} [I, H]) with the given byte order.
     *
     * @param name     what B is, for error messages
     * @param recycled whether the panels come from {@link FloatArrays} (a per-call operand, see {@link #recycle})
     */
    static PackedMatrix ofRows(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                               WorkerPool pool, boolean recycled) {
        return ofRows(name, src, layout, k, n, nr, pool, recycled, null);
    }

    /**
     * {@link #ofRows(String, MemorySegment, ValueLayout.OfFloat, int, int, int, WorkerPool, boolean)} into the panels
     * of {@code reuse} when they are large enough (an operand packed again every training step keeps its array, so
     * steps allocate nothing of its size), else into new ones. {@code reuse} is unusable afterwards.
     */
    static PackedMatrix ofRows(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                               WorkerPool pool, boolean recycled, PackedMatrix reuse) {
        requireSize(name, src, k, n);
        return pack(name, k, n, nr, pool, recycled, reuse, (m, row, col0, cols) -> {
            for (int r = 0; r < k; r++) {
                MemorySegment.copy(src, layout, ((long) r * n + col0) * Float.BYTES, row, 0, cols);
                for (int c = 0; c < cols; c += nr) {
                    System.arraycopy(row, c, m.data, m.offset(col0 + c, r), Math.min(nr, cols - c));
                }
            }
        });
    }

    /**
     * Packs B [k, n] = Sᵀ for S [n, k] stored row-major ({@code src[j·k + r]}), e.g. {@code gate} [N, I] for the
     * product x·gateᵀ.
     */
    static PackedMatrix ofTransposed(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                                     WorkerPool pool) {
        return ofTransposed(name, src, layout, k, n, nr, pool, null);
    }

    /** {@link #ofTransposed(String, MemorySegment, ValueLayout.OfFloat, int, int, int, WorkerPool)} into the panels of
     * {@code reuse} when they are large enough (see {@link #ofRows(String, MemorySegment, ValueLayout.OfFloat, int, int,
     * int, WorkerPool, boolean, PackedMatrix)}). */
    static PackedMatrix ofTransposed(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                                     WorkerPool pool, PackedMatrix reuse) {
        requireSize(name, src, n, k);
        return pack(name, k, n, nr, pool, false, reuse, (m, row, col0, cols) -> {
            for (int j = col0; j < col0 + cols; j++) {
                MemorySegment.copy(src, layout, (long) j * k * Float.BYTES, row, 0, k);
                int o = m.offset(j, 0) + j % nr;
                for (int r = 0; r < k; r++, o += nr) {
                    m.data[o] = row[r];
                }
            }
        });
    }

    /** Fills the panels of columns [col0, col0 + cols) of {@code m}; {@code row} holds max(cols, k) floats. */
    @FunctionalInterface
    private interface Filler {
        void fill(PackedMatrix m, float[] row, int col0, int cols);
    }

    /**
     * Allocates the panels and fills them in column ranges spread over the pool's participants; the padding columns
     * of the last panel are zeroed (a recycled array holds old values).
     */
    private static PackedMatrix pack(String name, int k, int n, int nr, WorkerPool pool, boolean recycled,
                                     PackedMatrix reuse, Filler filler) {
        PackedMatrix m = new PackedMatrix(name, k, n, nr, recycled, reuse);
        int chunk = chunk(m.panels(), pool) * nr;
        pool.forEachBlock(Math.ceilDiv(n, chunk), () -> FloatArrays.take(Math.max(chunk, k)),
                (row, block) -> filler.fill(m, row, block * chunk, Math.min(chunk, n - block * chunk)),
                FloatArrays::give);
        int used = n % nr;
        if (used != 0) {
            for (int r = 0, o = m.offset(n - used, 0); r < k; r++, o += nr) {
                Arrays.fill(m.data, o + used, o + nr, 0f);
            }
        }
        return m;
    }

    /**
     * Panels per block of packing work: one block per participant. Fewer, longer row copies matter when B is packed
     * per call ({@link Sgemm}): at 1024² four blocks per participant took 1.2 ms instead of 0.7.
     */
    private static int chunk(int panels, WorkerPool pool) {
        return Math.max(1, Math.ceilDiv(panels, pool.parallelism()));
    }

    private static void requireSize(String name, MemorySegment src, int rows, int cols) {
        long need = (long) rows * cols * Float.BYTES;
        if (src.byteSize() < need) {
            throw new IllegalArgumentException(name + " [" + rows + ", " + cols + "] needs " + need
                    + " bytes, the segment has " + src.byteSize());
        }
    }

    private static int checkedSize(String name, int k, int n, int nr) {
        long size = (long) Math.ceilDiv(n, nr) * nr * k;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(name + " (as a [" + k + ", " + n + "] operand) packs into " + size
                    + " floats, more than one Java array holds (2^31 - 16); the cpu backend cannot pack it");
        }
        return (int) size;
    }
}
