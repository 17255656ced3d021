package dev.mxd.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * GEMM on one block of rows: the loops around the micro-kernel (GotoBLAS order) and the packing of operands,
 * under the one driver {@link BlockedGemm}. A is a block of at most a few hundred rows packed into row panels by {@link #packRows}; B is a
 * {@link PackedMatrix}; C is a row-major float tile the caller owns (its epilogue reads it afterwards).
 *
 * <p>Per reduction chunk of at most {@link Blocking#KC_MAX} steps, the micro-kernel takes each row panel slice of A (KC·mr
 * floats, 24 KiB at KC = 512: it stays in L1) across all column panels of the tile, whose slice of B (KC·cols
 * floats) stays in L2 with the tile for the next row panel. Of the orders and sizes tried on the 2-core AVX-512
 * machine (KC 128 to 1024, tiles of 64 to 1024 columns, either loop innermost), this one ran best, by a few percent
 * and within the noise of a shared machine. Each element of C is one chain of fused multiply-adds in order of k,
 * whatever the chunking, block or thread: results do not depend on how a call was split.
 */
final class Gemm {
    private Gemm() {
    }

    /**
     * Packs rows [0, rows) of a row-major table ({@code src[so + r·ld + c]}, c &lt; k) into row panels of mr rows:
     * panel q holds rows [q·mr, q·mr + mr) as k consecutive groups of mr floats, zero past {@code rows}.
     */
    static void packRows(float[] src, int so, int ld, int rows, int k, int mr, float[] dst) {
        packPanels(rows, k, mr, dst, (r, o) -> interleave(src, so + r * ld, k, mr, dst, o));
    }

    /**
     * {@link #packRows} from a row-major table of k floats per row in a segment (a model's weights, read where they
     * are): its rows [row0, row0 + rows), each copied through {@code row} (at least k floats).
     */
    static void packRows(MemorySegment src, ValueLayout.OfFloat layout, long row0, int rows, int k, int mr, float[] row,
                         float[] dst) {
        packPanels(rows, k, mr, dst, (r, o) -> {
            MemorySegment.copy(src, layout, (row0 + r) * k * Float.BYTES, row, 0, k);
            interleave(row, 0, k, mr, dst, o);
        });
    }

    /** Writes row r of a packed operand into its panel, its first element at {@code dst[o]} (see {@link #interleave}). */
    @FunctionalInterface
    private interface PanelRow {
        void write(int r, int o);
    }

    /** The panel loop of both {@code packRows}: each live row through {@code row}, the padding rows as zeros. */
    private static void packPanels(int rows, int k, int mr, float[] dst, PanelRow row) {
        int panels = Math.ceilDiv(rows, mr);
        for (int q = 0; q < panels; q++) {
            int base = q * mr * k;
            for (int i = 0; i < mr; i++) {
                int r = q * mr + i;
                if (r < rows) {
                    row.write(r, base + i);
                } else {
                    interleaveZeros(k, mr, dst, base + i);
                }
            }
        }
    }

    /** One row of a row panel: {@code dst[o + c·mr] = src[s + c]} for c &lt; k. */
    private static void interleave(float[] src, int s, int k, int mr, float[] dst, int o) {
        for (int c = 0; c < k; c++, o += mr) {
            dst[o] = src[s + c];
        }
    }

    /** A padding row of a row panel. */
    private static void interleaveZeros(int k, int mr, float[] dst, int o) {
        for (int c = 0; c < k; c++, o += mr) {
            dst[o] = 0f;
        }
    }

    /**
     * {@link #packRows} for A = Sᵀ, where S is row-major with A's rows as its columns: row r of A, element c, is
     * {@code src[so + c·ld + r]}. Each panel step takes mr consecutive floats of one row of S, so a transposed
     * operand (the activations of a weight gradient, {@code xᵀ·dh}) is packed straight from its layout.
     */
    static void packColumns(float[] src, int so, int ld, int rows, int k, int mr, float[] dst) {
        int panels = Math.ceilDiv(rows, mr);
        for (int q = 0; q < panels; q++) {
            int base = q * mr * k;
            int live = Math.min(mr, rows - q * mr);
            for (int c = 0, o = base, s = so + q * mr; c < k; c++, o += mr, s += ld) {
                System.arraycopy(src, s, dst, o, live);
                if (live < mr) {
                    Arrays.fill(dst, o + live, o + mr, 0f);
                }
            }
        }
    }

    /** {@code tile = A·B[:, col0 .. col0 + cols)}: {@link #accumulate} onto a zeroed tile. */
    static void multiply(Kernels kern, float[] a, int rows, PackedMatrix b, int col0, int cols, float[] tile, int ldt) {
        Arrays.fill(tile, 0, Math.ceilDiv(rows, kern.mr) * kern.mr * ldt, 0f);
        accumulate(kern, a, rows, b, col0, cols, tile, ldt);
    }

    /**
     * {@code tile[i·ldt + j] += Σ_r A[i][r]·B[r][col0 + j]} for every row of A's panels and every column of the B
     * panels that cover [col0, col0 + cols): the padding rows and columns are computed too (zeros in, zeros out),
     * so {@code ldt} must be at least cols rounded up to nr.
     *
     * @param a   A packed by {@link #packRows} with k = {@code b.k}
     * @param col0 a multiple of nr
     */
    static void accumulate(Kernels kern, float[] a, int rows, PackedMatrix b, int col0, int cols, float[] tile, int ldt) {
        int mr = kern.mr;
        int nr = kern.nr;
        int k = b.k;
        int rowPanels = Math.ceilDiv(rows, mr);
        int colPanels = Math.ceilDiv(cols, nr);
        int chunks = Math.ceilDiv(k, Blocking.KC_MAX);
        int kc = chunks == 0 ? 0 : Math.ceilDiv(k, chunks);
        for (int pc = 0; pc < k; pc += kc) {
            int steps = Math.min(kc, k - pc);
            for (int ip = 0; ip < rowPanels; ip++) {
                int ao = ip * mr * k + pc * mr;
                for (int jp = 0; jp < colPanels; jp++) {
                    kern.microKernel(steps, a, ao, b.data, b.offset(col0 + jp * nr, pc), tile, ip * mr * ldt + jp * nr, ldt);
                }
            }
        }
    }
}
