package dev.mxd.cpu;

import java.util.Objects;

/**
 * Multi-head scaled dot-product self-attention with no mask, on the cpu backend's vector kernels and worker
 * threads: for models outside mxd's own layers, e.g. the transformer that activations are harvested from (its dense
 * layers run on {@link PackedDense}).
 *
 * <p>Stateless; safe to call from several threads at once.
 */
final class Attention {
    private Attention() {
    }

    /**
     * For every sequence s and head h, {@code context[i, h·d .. h·d + d) = Σ_j softmax_j(q_i·k_j / divisor) · v_j}
     * over the positions i, j of s, with q, k, v the head's d columns of the query, key and value blocks of
     * {@code qkv}. The (sequence, head) pairs are spread over the {@code mxd.threads} worker threads.
     *
     * <p>Each head works on transposed tiles (scores as [key j][query i], q and the context as [dim][query i]), so
     * the products are vector multiply-adds along the n queries, and the softmax over keys is elementwise work
     * across rows. Each score is a chain of multiply-adds in order of the head's dimensions, divided by
     * {@code divisor}; the softmax subtracts the row maximum, exponentiates with the kernels' float {@code exp} (a few
     * ulp), and multiplies by the reciprocal of the sum.
     *
     * @param qkv       [rows, 3·heads·d] row-major: per row the queries, then the keys, then the values, each
     *                  [heads, d]; read only
     * @param starts    the first row of each sequence, then the total row count: {@code starts[s] ≤ starts[s + 1]}
     * @param heads     heads per row
     * @param d         width of one head
     * @param divisor   the scores are divided by it (√d for scaled dot-product attention)
     * @param context   [rows, heads·d] row-major; overwritten
     * @throws IllegalArgumentException for sizes that do not fit the arrays or unordered starts
     */
    public static void selfAttention(float[] qkv, int[] starts, int heads, int d, float divisor, float[] context) {
        Objects.requireNonNull(qkv, "qkv");
        Objects.requireNonNull(starts, "starts");
        Objects.requireNonNull(context, "context");
        if (heads < 1 || d < 1) {
            throw new IllegalArgumentException("heads and d must be >= 1, got heads = " + heads + ", d = " + d);
        }
        if (starts.length < 2 || starts[0] != 0) {
            throw new IllegalArgumentException("starts must begin with 0 and end with the row count, got "
                    + java.util.Arrays.toString(starts));
        }
        for (int s = 1; s < starts.length; s++) {
            if (starts[s] < starts[s - 1]) {
                throw new IllegalArgumentException("starts must not decrease: starts[" + s + "] = " + starts[s]
                        + " < starts[" + (s - 1) + "] = " + starts[s - 1]);
            }
        }
        int width = heads * d;
        long rows = starts[starts.length - 1];
        if (qkv.length < rows * 3 * width || context.length < rows * width) {
            throw new IllegalArgumentException("qkv [" + rows + ", " + 3 * width + "] and context [" + rows + ", "
                    + width + "] need " + rows * 3 * width + " and " + rows * width + " values, got " + qkv.length
                    + " and " + context.length);
        }
        Kernels kern = Sgemm.kernels();
        int sequences = starts.length - 1;
        WorkerPool.shared().forEachBlock(sequences * heads, () -> null,
                (unused, task) -> head(kern, qkv, starts[task / heads], starts[task / heads + 1] - starts[task / heads],
                        task % heads, heads, d, divisor, context));
    }

    /** One head of one sequence of n rows starting at row0. */
    private static void head(Kernels kern, float[] qkv, int row0, int n, int h, int heads, int d, float divisor,
                             float[] context) {
        if (n == 0) {
            return;
        }
        int width = heads * d;
        int stride = 3 * width;
        int qCol = h * d, kCol = width + h * d, vCol = 2 * width + h * d;
        float[] qt = new float[d * n];
        for (int i = 0; i < n; i++) {
            int o = (row0 + i) * stride + qCol;
            for (int c = 0; c < d; c++) {
                qt[c * n + i] = qkv[o + c];
            }
        }
        float[] st = new float[n * n];
        float[] max = new float[n];
        java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j++) {
            int ko = (row0 + j) * stride + kCol;
            int so = j * n;
            for (int c = 0; c < d; c++) {
                kern.axpy(qkv[ko + c], qt, c * n, st, so, n);
            }
            for (int i = 0; i < n; i++) {
                st[so + i] /= divisor;
                max[i] = Math.max(max[i], st[so + i]);
            }
        }
        for (int j = 0; j < n; j++) {
            int so = j * n;
            for (int i = 0; i < n; i++) {
                st[so + i] -= max[i];
            }
        }
        kern.exp(st, 0, n * n);
        float[] sum = new float[n];
        for (int j = 0; j < n; j++) {
            kern.add(sum, 0, st, j * n, n);
        }
        for (int i = 0; i < n; i++) {
            sum[i] = 1f / sum[i];
        }
        float[] ct = new float[d * n];
        for (int j = 0; j < n; j++) {
            int so = j * n;
            kern.multiply(st, so, sum, 0, n);
            int vo = (row0 + j) * stride + vCol;
            for (int c = 0; c < d; c++) {
                kern.axpy(qkv[vo + c], st, so, ct, c * n, n);
            }
        }
        for (int i = 0; i < n; i++) {
            int o = (row0 + i) * width + h * d;
            for (int c = 0; c < d; c++) {
                context[o + c] = ct[c * n + i];
            }
        }
    }
}
