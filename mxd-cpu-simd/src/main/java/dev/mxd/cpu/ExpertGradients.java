package dev.mxd.cpu;

import dev.mxd.MxdConfig;
import java.util.Arrays;

/**
 * The sparse part of the backward pass: the gradient rows of the code space (experts of an MxD, hidden units of a
 * TC) over the (token, code) pairs of the batch only. Pairs are bucketed by code index (a stable counting sort, so
 * each bucket is in token order), and each index's rows are summed over its tokens in token order by one
 * participant: per token the work is O(K·(I + O)), whatever N; per call there is one O(N) pass for the buckets,
 * besides writing the gradient rows of unselected indices as zeros.
 */
final class ExpertGradients extends LayerPass {
    /** The (token, index) pairs the last call visited. */
    private long pairsVisited;

    ExpertGradients(MxdConfig cfg, Kernels kern, WorkerPool pool) {
        super(cfg, kern, pool);
    }

    long pairsVisited() {
        return pairsVisited;
    }

    /**
     * An MxD's, over the pairs with a non-zero code (a zero code has relu'(g) = 0 and contributes nothing):
     * {@code daₙ = dm·C[n]}, {@code dC[n] += aₙ·dm}, {@code dgate[n] += daₙ·x}, {@code dgate_bias[n] += daₙ}.
     * Expert by expert, so that C[n] is read once for all of its tokens, whose rows of dm and x are then summed
     * several at a time ({@link Kernels#scaledRowSum}, in token order as before); with {@code project}, each block of
     * {@link Blocking#EXPERT_BLOCK} gradient rows of C loses its components parallel to C's rows while in cache
     * (rows of experts without pairs are zero, and left so: for a finite C, their dot is zero).
     *
     * @param dGate the gate's gradient as packed gateᵀ [I, N] (the layout of the gate operand)
     */
    void mxd(TrainingBatch b, int tokens, float[] c, float[] dC, PackedMatrix dGate, float[] dGateBias,
             boolean project) {
        int nr = dGate.nr;
        sparseRows(b, tokens, experts, Blocking.EXPERT_BLOCK, true, () -> new Scratch(nr * inDim, tokens), (pairs, start, n0, n1, sc) -> {
            float[] rows = sc.rows;
            double[] dots = new double[Blocking.EXPERT_BLOCK];
            for (int b0 = n0; b0 < n1; b0 += Blocking.EXPERT_BLOCK) {
                int width = Math.min(Blocking.EXPERT_BLOCK, n1 - b0);
                Arrays.fill(dC, b0 * outDim, (b0 + width) * outDim, 0f);
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
                        kern.dotRowsAndScaledRowSum(b.dm, outDim, sc.tokens, count, c, n * outDim, outDim, sc.da,
                                sc.codes, dC, n * outDim);
                        for (int q = 0; q < count; q++) {
                            bias += sc.da[q];
                        }
                        kern.scaledRowSum(b.x, inDim, 0, sc.tokens, sc.da, count, rows, (n - g0) * inDim, inDim);
                        dGateBias[n] = bias;
                    }
                    dGate.storeColumns(rows, 0, inDim, g0, g1 - g0);
                }
                if (project) {
                    // only runs of experts with pairs: the others' rows are zero and stay zero
                    for (int n = b0, end = b0 + width, run; n < end; n = run) {
                        for (run = n; run < end && start[run] < start[run + 1]; run++) {
                        }
                        if (run > n) {
                            DecoderRows.project(kern, dC, n * outDim, c, n * outDim, outDim, run - n, dots);
                        } else {
                            run++;
                        }
                    }
                }
            }
        });
    }

    /**
     * A participant's scratch for {@link #mxd}: a panel's gate-gradient rows, and per expert its tokens, their code
     * values and the da of each (an expert has at most one pair per token).
     */
    private static final class Scratch {
        final float[] rows;
        final int[] tokens;
        final float[] codes;
        final float[] da;

        Scratch(int rowFloats, int maxPairs) {
            rows = new float[rowFloats];
            tokens = new int[maxPairs];
            codes = new float[maxPairs];
            da = new float[maxPairs];
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
        int ranges = Math.min(space, 8 * pool.parallelism());
        int per = Math.ceilDiv(Math.ceilDiv(space, ranges), align) * align;
        pool.forEachBlock(Math.ceilDiv(space, per), scratch,
                (s, blk) -> body.run(pairs, start, blk * per, Math.min(space, (blk + 1) * per), s));
    }
}
