package dev.mxd.cpu;

import dev.mxd.MxdConfig;
import dev.mxd.train.AdamW;
import java.util.Arrays;

/**
 * The sparse part of the backward pass: the gradient rows of the code space (experts of an MxD, hidden units of a
 * TC) over the (token, code) pairs of the batch only. Pairs are bucketed by code index (a stable counting sort, so
 * each bucket is in token order), and each index's rows are summed over its tokens in token order by one
 * participant: per token the work is O(K·(I + O)), whatever N; per call there is one O(N) pass for the buckets,
 * besides the rows of unselected indices, which are zero.
 *
 * <p>An MxD's expert rows are deferred ({@link #defer}) to the AdamW update, which then runs over the experts block
 * by block: a block's gradient rows (C's, the gate's and its bias's) are computed into a participant's scratch,
 * projected and applied to the parameters and their moments while in cache ({@link #update}). The gradient arrays
 * of these parameters, 2·N·(I + O) floats at GPT-2 size about 130 MB written and read again every step, are then
 * never touched. When the gradient itself is wanted, {@link #materialise} writes the same rows into them instead.
 */
final class ExpertGradients extends LayerPass {
    /** Experts per block: {@link Blocking#EXPERT_BLOCK} rounded up to whole panels of the packed gate. */
    private final int block;
    /** The (token, index) pairs the last call visited. */
    private long pairsVisited;
    /** The MxD expert rows of the last {@link #defer}, not yet computed; null when none are. */
    private Deferred deferred;

    /** A batch's (token, expert) pairs bucketed by expert, as {@link #bucket} gives them. */
    private record Deferred(TrainingBatch batch, int tokens, int[] pairs, int[] start, boolean project) {
    }

    ExpertGradients(MxdConfig cfg, Kernels kern, WorkerPool pool) {
        super(cfg, kern, pool);
        this.block = Math.ceilDiv(Blocking.EXPERT_BLOCK, kern.nr) * kern.nr;
    }

    long pairsVisited() {
        return pairsVisited;
    }

    /**
     * Buckets an MxD batch's pairs with a non-zero code (a zero code has relu'(g) = 0 and contributes nothing) and
     * keeps them, with the batch, for {@link #update} or {@link #materialise}; the batch's codes, dm and x must stay
     * as they are until then, and so must C. Replaces rows deferred before.
     */
    void defer(TrainingBatch b, int tokens, boolean project) {
        int[][] buckets = bucket(b, tokens, experts, true);
        deferred = new Deferred(b, tokens, buckets[0], buckets[1], project);
    }

    /** Whether expert rows are deferred. */
    boolean hasDeferred() {
        return deferred != null;
    }

    /** Forgets deferred rows (the kernels are closed). */
    void clear() {
        deferred = null;
    }

    /**
     * The deferred expert rows into {@code p}'s gradient arrays of W_cond (as C [N, O]), the gate (packed) and its
     * bias, every row written (zero for experts without pairs).
     */
    void materialise(TrainingParameters p) {
        Deferred d = take();
        float[] c = p.slot("W_cond").value();
        float[] dC = p.slot("W_cond").grad();
        PackedMatrix dGate = p.packed("gate", true);
        float[] dGateBias = p.slot("gate_bias").grad();
        forBlocks(d, false, (sc, b0, width) -> rows(d, sc, b0, width, c, dC, b0 * outDim, dGate, b0, dGateBias, b0));
    }

    /**
     * The deferred expert rows applied at once: per block of experts, the rows into scratch, then AdamW
     * ({@link TrainingParameters#adamw}) over the block's C rows, gate panels and gate biases from them, and the
     * updated C rows' sums of squares into {@code decoderSums} ({@link DecoderRows#squares}). Bit for bit what
     * {@link #materialise} followed by AdamW over the whole arrays gives.
     */
    void update(TrainingParameters p, AdamW.Coefficients coefficients, double[] decoderSums) {
        Deferred d = take();
        TrainingParameters.Slot cSlot = p.slot("W_cond");
        TrainingParameters.Slot gateSlot = p.slot("gate");
        TrainingParameters.Slot biasSlot = p.slot("gate_bias");
        float[] c = cSlot.value();
        PackedMatrix gate = p.packed("gate", false);
        forBlocks(d, true, (sc, b0, width) -> {
            int panelFloats = Math.ceilDiv(width, gate.nr) * gate.nr * inDim;
            if (width % gate.nr != 0) {
                // the gate's last panel: its columns past N are padding, zero in the gradient as in the values
                Arrays.fill(sc.gate, panelFloats - gate.nr * inDim, panelFloats, 0f);
            }
            rows(d, sc, b0, width, c, sc.dC, 0, PackedMatrix.over(inDim, block, gate.nr, sc.gate), 0, sc.bias, 0);
            p.adamw(cSlot, b0 * outDim, (b0 + width) * outDim, sc.dC, coefficients);
            DecoderRows.squares(c, b0 * outDim, outDim, width, decoderSums, b0);
            int g0 = gate.offset(b0, 0);
            p.adamw(gateSlot, g0, g0 + panelFloats, sc.gate, coefficients);
            p.adamw(biasSlot, b0, b0 + width, sc.bias, coefficients);
        });
    }

    private Deferred take() {
        Deferred d = deferred;
        if (d == null) {
            throw new IllegalStateException("no expert gradient rows are deferred");
        }
        deferred = null;
        return d;
    }

    @FunctionalInterface
    private interface BlockBody {
        void run(Scratch scratch, int b0, int width);
    }

    /** {@code body} over the blocks of experts, one block a task, spread over the participants. */
    private void forBlocks(Deferred d, boolean applied, BlockBody body) {
        int blocks = Math.ceilDiv(experts, block);
        pool.forEachBlock(blocks, () -> new Scratch(kern.nr * inDim, d.tokens, block, applied ? inDim : 0,
                        applied ? outDim : 0),
                (sc, blk) -> body.run(sc, blk * block, Math.min(block, experts - blk * block)));
    }

    /**
     * An MxD's rows of experts [b0, b0 + width): {@code daₙ = dm·C[n]}, {@code dC[n] = Σ aₙ·dm},
     * {@code dgate[n] = Σ daₙ·x}, {@code dgate_bias[n] = Σ daₙ}, over the expert's pairs in token order. Expert by
     * expert, so that C[n] is read once for all of its tokens, whose rows of dm and x are then summed several at a
     * time ({@link Kernels#scaledRowSum}); with projection, the block's rows of dC lose their components parallel
     * to C's rows while in cache (rows of experts without pairs are zero, and left so: for a finite C, their dot is
     * zero). Expert n's rows go to {@code dC[dcOff + (n − b0)·O ..]}, column {@code gateCol0 + n − b0} of
     * {@code dGate} (the gate's gradient as packed gateᵀ [I, ·]; {@code gateCol0 ≡ b0} modulo its panel width) and
     * {@code dBias[biasOff + n − b0]}.
     */
    private void rows(Deferred d, Scratch sc, int b0, int width, float[] c, float[] dC, int dcOff,
                      PackedMatrix dGate, int gateCol0, float[] dBias, int biasOff) {
        TrainingBatch b = d.batch;
        int[] pairs = d.pairs, start = d.start;
        int nr = dGate.nr;
        float[] rows = sc.rows;
        Arrays.fill(dC, dcOff, dcOff + width * outDim, 0f);
        // dgate rows of the experts of one panel of dGate at a time, then stored into it in its order
        for (int g0 = b0, g1; g0 < b0 + width; g0 = g1) {
            g1 = Math.min(b0 + width, (g0 / nr + 1) * nr);
            Arrays.fill(rows, 0, (g1 - g0) * inDim, 0f);
            for (int n = g0; n < g1; n++) {
                int count = 0;
                float bias = 0f;
                for (int q = start[n]; q < start[n + 1]; q++, count++) {
                    int e = pairs[q];
                    sc.tokens[count] = e / k;
                    sc.codes[count] = b.codeValue[e];
                }
                int dcRow = dcOff + (n - b0) * outDim;
                kern.dotRowsAndScaledRowSum(b.dm, outDim, sc.tokens, count, c, n * outDim, outDim, sc.da,
                        sc.codes, dC, dcRow);
                for (int q = 0; q < count; q++) {
                    bias += sc.da[q];
                }
                kern.scaledRowSum(b.x, inDim, 0, sc.tokens, sc.da, count, rows, (n - g0) * inDim, inDim);
                dBias[biasOff + n - b0] = bias;
            }
            dGate.storeColumns(rows, 0, inDim, gateCol0 + g0 - b0, g1 - g0);
        }
        if (d.project) {
            // only runs of experts with pairs: the others' rows are zero and stay zero
            for (int n = b0, end = b0 + width, run; n < end; n = run) {
                for (run = n; run < end && start[run] < start[run + 1]; run++) {
                }
                if (run > n) {
                    DecoderRows.project(kern, dC, dcOff + (n - b0) * outDim, c, n * outDim, outDim, run - n,
                            sc.dots);
                } else {
                    run++;
                }
            }
        }
    }

    /**
     * A participant's scratch: a panel's gate-gradient rows, per expert its tokens, their code values and the da of
     * each (an expert has at most one pair per token), the projection's dots, and for {@link #update} a block's
     * gradient rows (C's, the packed gate's, the bias's).
     */
    private static final class Scratch {
        final float[] rows;
        final int[] tokens;
        final float[] codes;
        final float[] da;
        final double[] dots;
        final float[] dC;
        final float[] gate;
        final float[] bias;

        Scratch(int rowFloats, int maxPairs, int block, int inDim, int outDim) {
            rows = new float[rowFloats];
            tokens = new int[maxPairs];
            codes = new float[maxPairs];
            da = new float[maxPairs];
            dots = new double[block];
            dC = new float[block * outDim];
            gate = new float[block * inDim];
            bias = new float[block];
        }
    }

    /**
     * A TC's, over every (token, selected unit) pair: {@code dzⱼ = dy·W_dec[j]} into {@code b.dz} (zero outside the
     * selected units), {@code dW_dec[j] += zⱼ·dy}, rows of unselected units written as zeros; with {@code project},
     * each row loses its component parallel to W_dec's row.
     */
    void transcoder(TrainingBatch b, int tokens, float[] decRows, float[] dDec, boolean project) {
        int chunk = Blocking.ROW_CHUNK;
        pool.forEachBlock(Math.ceilDiv(tokens, chunk), () -> Boolean.TRUE, (unused, blk) -> {
            int r0 = blk * chunk, r1 = Math.min(tokens, r0 + chunk);
            Arrays.fill(b.dz, r0 * hidden, r1 * hidden, 0f);
            for (int e = r0 * k; e < r1 * k; e++) {
                int r = e / k;
                int j = b.codeIndex[e];
                b.dz[r * hidden + j] = kern.dot(b.dy, r * outDim, decRows, j * outDim, outDim);
            }
        });
        sparseRows(b, tokens, hidden, 1, false, () -> new double[1], (pairs, start, j0, j1, dots) -> {
            for (int j = j0; j < j1; j++) {
                Arrays.fill(dDec, j * outDim, (j + 1) * outDim, 0f);
                for (int q = start[j]; q < start[j + 1]; q++) {
                    int r = pairs[q] / k;
                    kern.axpy(b.kept.z()[r * hidden + j], b.dy, r * outDim, dDec, j * outDim, outDim);
                }
                if (project) {
                    DecoderRows.project(kern, dDec, j * outDim, decRows, j * outDim, outDim, 1, dots);
                }
            }
        });
    }

    /**
     * A range [from, to) of code indices: the pairs of index n are code slots (token·K + slot)
     * {@code pairs[start[n] .. start[n + 1])}, in token order.
     */
    @FunctionalInterface
    private interface RowSum<S> {
        void run(int[] pairs, int[] start, int from, int to, S scratch);
    }

    /**
     * Buckets the code slots by code index and runs {@code body} over every index, pairs or not, in contiguous
     * ranges (multiples of {@code align}) spread over the participants.
     */
    private <S> void sparseRows(TrainingBatch b, int tokens, int space, int align, boolean skipZero,
                                java.util.function.Supplier<S> scratch, RowSum<S> body) {
        int[][] buckets = bucket(b, tokens, space, skipZero);
        int[] pairs = buckets[0], start = buckets[1];
        int ranges = Math.min(space, 8 * pool.parallelism());
        int per = Math.ceilDiv(Math.ceilDiv(space, ranges), align) * align;
        pool.forEachBlock(Math.ceilDiv(space, per), scratch,
                (s, blk) -> body.run(pairs, start, blk * per, Math.min(space, (blk + 1) * per), s));
    }

    /**
     * The batch's code slots (token·K + slot) bucketed by code index, {@code skipZero} leaving out zero codes:
     * {pairs, start}, index n's slots being {@code pairs[start[n] .. start[n + 1])} in token order.
     */
    private int[][] bucket(TrainingBatch b, int tokens, int space, boolean skipZero) {
        int slots = tokens * k;
        int[] start = new int[space + 1];
        for (int e = 0; e < slots; e++) {
            if (!skipZero || b.codeValue[e] != 0f) {
                start[b.codeIndex[e] + 1]++;
            }
        }
        for (int n = 0; n < space; n++) {
            start[n + 1] += start[n];
        }
        int total = start[space];
        int[] pairs = new int[total];
        int[] fill = Arrays.copyOf(start, space);
        for (int e = 0; e < slots; e++) {
            if (!skipZero || b.codeValue[e] != 0f) {
                pairs[fill[b.codeIndex[e]]++] = e;
            }
        }
        pairsVisited = total;
        return new int[][] {pairs, start};
    }
}
