package dev.mxd.cpu;

import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The right-hand operand B [k, n] of a GEMM, packed into column panels for the micro-kernel: panel p holds
 * columns [p·nr, p·nr + nr) as k consecutive rows of nr floats (zero past column n), so the micro-kernel reads
 * one panel front to back and any range of its rows is contiguous. Weights are packed once, when a model is
 * loaded (or a trainer starts); {@link Sgemm} packs its B per call into its workspace.
 */
final class PackedMatrix {
    /** Steps per run of {@link #storeColumns}: 32 steps of a 32-column panel are 4 KiB. */
    private static final int STORE_STEPS = 32;

    /** Rows of B: the reduction dimension. */
    final int k;
    /** Columns of B. */
    final int n;
    /** Columns per panel. */
    final int nr;
    /** ceil(n / nr) panels of k·nr floats. */
    final float[] data;

    private PackedMatrix(int k, int n, int nr, float[] data) {
        this.k = k;
        this.n = n;
        this.nr = nr;
        this.data = data;
    }

    /** Offset in {@link #data} of row {@code row} of the panel that starts at column {@code col} (a multiple of nr). */
    int offset(int col, int row) {
        return (col / nr) * k * nr + row * nr;
    }

    int panels() {
        return Math.ceilDiv(n, nr);
    }

    /**
     * Packs B [k, n] stored row-major ({@code src[r·n + j]}, e.g. {@code W_enc} [I, H]) with the given byte order
     * into new panels.
     *
     * @param name what B is, for error messages
     */
    static PackedMatrix ofRows(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                               WorkerPool pool) {
        return ofRows(name, src, layout, k, n, nr, pool, null);
    }

    /**
     * {@link #ofRows(String, MemorySegment, ValueLayout.OfFloat, int, int, int, WorkerPool)} into {@code into} (at
     * least {@link #size} floats, e.g. from a {@link Workspace}), or into new panels when it is null.
     */
    static PackedMatrix ofRows(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                               WorkerPool pool, float[] into) {
        requireSize(name, src, k, n);
        return pack(name, k, n, nr, pool, into, (m, row, col0, cols) -> {
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
     * product x·gateᵀ, into new panels.
     */
    static PackedMatrix ofTransposed(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                                     WorkerPool pool) {
        return ofTransposed(name, src, layout, k, n, nr, pool, null);
    }

    /** {@link #ofTransposed(String, MemorySegment, ValueLayout.OfFloat, int, int, int, WorkerPool)} into {@code into}
     * (at least {@link #size} floats), or into new panels when it is null. */
    static PackedMatrix ofTransposed(String name, MemorySegment src, ValueLayout.OfFloat layout, int k, int n, int nr,
                                     WorkerPool pool, float[] into) {
        requireSize(name, src, n, k);
        return pack(name, k, n, nr, pool, into, (m, row, col0, cols) -> {
            for (int j = col0; j < col0 + cols; j++) {
                MemorySegment.copy(src, layout, (long) j * k * Float.BYTES, row, 0, k);
                int o = m.offset(j, 0) + j % nr;
                for (int r = 0; r < k; r++, o += nr) {
                    m.data[o] = row[r];
                }
            }
        });
    }

    /**
     * Floats of the panels of a [k, n] operand.
     *
     * @throws IllegalArgumentException when they do not fit one Java array, naming the operand
     */
    static int size(String name, int k, int n, int nr) {
        long size = (long) Math.ceilDiv(n, nr) * nr * k;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(name + " (as a [" + k + ", " + n + "] operand) packs into " + size
                    + " floats, more than one Java array holds (2^31 - 16); the cpu backend cannot pack it");
        }
        return (int) size;
    }

    /** A view of {@code data} (at least {@link #size} floats) as packed [k, n] panels, e.g. a gradient or moment. */
    static PackedMatrix over(int k, int n, int nr, float[] data) {
        return new PackedMatrix(k, n, nr, data);
    }

    /** {@code B[row][col0 + j] = src[so + j]} for j &lt; cols; {@code col0} a multiple of nr. */
    void storeRow(float[] src, int so, int row, int col0, int cols) {
        for (int c = 0; c < cols; c += nr) {
            System.arraycopy(src, so + c, data, offset(col0 + c, row), Math.min(nr, cols - c));
        }
    }

    /**
     * {@code B[r][col0 + j] = src[so + j·ld + r]} for r &lt; k, j &lt; cols: columns from rows of S for B = Sᵀ, e.g.
     * the gate's gradient rows. In runs of {@link #STORE_STEPS} steps: a run's part of the panel (a few KiB) stays
     * in L1 while each column is written into it from its row of S, read in order; step by step, the nr read
     * streams would lie ld floats apart and crowd a few L1 sets.
     */
    void storeColumns(float[] src, int so, int ld, int col0, int cols) {
        for (int c = col0, end = col0 + cols; c < end; ) {
            int panelEnd = Math.min(end, (c / nr + 1) * nr);
            int base = offset(c - c % nr, 0) + c % nr;
            for (int r0 = 0; r0 < k; r0 += STORE_STEPS) {
                int r1 = Math.min(k, r0 + STORE_STEPS);
                for (int j = 0; j < panelEnd - c; j++) {
                    int s = so + (c - col0 + j) * ld;
                    for (int r = r0, o = base + r0 * nr + j; r < r1; r++, o += nr) {
                        data[o] = src[s + r];
                    }
                }
            }
            c = panelEnd;
        }
    }

    /** B [k, n] row-major into {@code dst} (F32 little-endian): the inverse of {@link #ofRows}. */
    void unpackRows(MemorySegment dst) {
        for (int r = 0; r < k; r++) {
            for (int c = 0; c < n; c += nr) {
                MemorySegment.copy(data, offset(c, r), dst, Tensor.F32_LE, ((long) r * n + c) * Float.BYTES,
                        Math.min(nr, n - c));
            }
        }
    }

    /** S [n, k] = Bᵀ row-major into {@code dst} (F32 little-endian): the inverse of {@link #ofTransposed}. */
    void unpackTransposed(MemorySegment dst, float[] row) {
        for (int j = 0; j < n; j++) {
            for (int r = 0, o = offset(j - j % nr, 0) + j % nr; r < k; r++, o += nr) {
                row[r] = data[o];
            }
            MemorySegment.copy(row, 0, dst, Tensor.F32_LE, (long) j * k * Float.BYTES, k);
        }
    }

    /** Bᵀ [n, k], packed, into {@code into} (at least {@link #size}(n, k) floats), panels spread over the pool. */
    PackedMatrix transposed(float[] into, WorkerPool pool) {
        PackedMatrix t = new PackedMatrix(n, k, nr, into);
        int panels = t.panels();
        pool.forEachBlock(panels, () -> Boolean.TRUE, (unused, q) -> {
            int c0 = q * nr;
            int live = Math.min(nr, k - c0);
            int base = q * n * nr;
            for (int r = 0; r < n; r++) {
                int from = offset(r - r % nr, c0) + r % nr;
                int o = base + r * nr;
                for (int j = 0; j < live; j++) {
                    into[o + j] = data[from + j * nr];
                }
                for (int j = live; j < nr; j++) {
                    into[o + j] = 0f;
                }
            }
        });
        return t;
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
    private static PackedMatrix pack(String name, int k, int n, int nr, WorkerPool pool, float[] into,
                                     Filler filler) {
        int size = size(name, k, n, nr);
        if (into != null && into.length < size) {
            throw new IllegalArgumentException(name + " packs into " + size + " floats, the array has " + into.length);
        }
        PackedMatrix m = new PackedMatrix(k, n, nr, into != null ? into : new float[size]);
        int chunk = chunk(m.panels(), pool) * nr;
        try (Workspace ws = new Workspace()) {
            pool.forEachBlock(Math.ceilDiv(n, chunk), () -> ws.floats(Math.max(chunk, k)),
                    (row, block) -> filler.fill(m, row, block * chunk, Math.min(chunk, n - block * chunk)));
        }
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
     * per call ({@link Sgemm}): four blocks per participant made packing a 1024² B nearly twice as slow.
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
}
