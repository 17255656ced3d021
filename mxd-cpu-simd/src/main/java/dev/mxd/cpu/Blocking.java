package dev.mxd.cpu;

/**
 * The cpu backend's tuning constants, each defined here and nowhere else. They change speed only, never results:
 * every output element of a GEMM is one chain of fused multiply-adds in order of the reduction index, however its
 * rows and columns are cut (see {@link Gemm}), and every pass over parameters computes each element alone.
 *
 * <p>The values were chosen on a 2-core AVX-512 machine (and checked on AVX2): of the sizes tried, these ran best
 * by a few percent, within the noise of a shared machine.
 */
final class Blocking {
    /** Upper bound on rows (tokens) per GEMM row block: a block's packed rows and one C tile stay in L2. */
    static final int BLOCK_ROWS = 192;
    /** Columns per C tile of a layer's fused epilogues (rounded down to the register block's columns). */
    static final int TILE_COLS = 256;
    /**
     * Columns per C tile of a plain dense product ({@link Sgemm}, {@link PackedDense}): with {@link #KC_MAX} = 512,
     * a 256 KiB slice of packed B per tile, held in L2 beside the tile.
     */
    static final int DENSE_TILE_COLS = 128;
    /** Upper bound of a GEMM's reduction chunk; chunks are balanced so the last one is not a short remainder. */
    static final int KC_MAX = 512;
    /** Rows per block of the element-wise passes over activations (training). */
    static final int ROW_CHUNK = 64;
    /** Elements per block of a pass over parameters (AdamW, decoder-norm). */
    static final int PARAMETER_CHUNK = 1 << 16;
    /** Experts per block of the sparse expert gradients: a block's gradient rows stay in L2 while projected. */
    static final int EXPERT_BLOCK = 128;
    /**
     * The tile of a W_cond [O, N] ↔ C [N, O] transposition: runs of this many floats along W_cond's rows and of
     * {@link #TRANSPOSE_OUTPUTS} (a cache line) along C's, so neither side is touched one element per cache line.
     */
    static final int TRANSPOSE_EXPERTS = 256;
    /** See {@link #TRANSPOSE_EXPERTS}. */
    static final int TRANSPOSE_OUTPUTS = 16;

    private Blocking() {
    }

    /** {@code cols} rounded down to a multiple of {@code nr}, at least nr: a tile width for the register block. */
    static int tileWidth(int cols, int nr) {
        return Math.max(nr, cols / nr * nr);
    }
}
