package dev.mxd.cpu;

import dev.mxd.train.AdamW;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One-thread timings of the training step's epilogue kernels at the GPT-2 shape (N = 21490, K = 32, O = 768), each
 * against the form it replaced or the alternative it was weighed against: the figures behind docs/PERFORMANCE.md's
 * "in isolation" sentences. Run with
 * {@code tools/run-test-main mxd-cpu-simd dev.mxd.cpu.KernelTiming [tokens] [rounds]} (default 4096 tokens, 6
 * rounds); each line is one round, so read the steady ones after the first.
 * <ul>
 *   <li>cut: {@link Kernels#keepLargest} of 32 among 64 keys (a 2K reservoir) on the vector and the scalar kernels;</li>
 *   <li>TopK: the gate epilogue's {@link TopK#offer} over a row's 84 tiles of 256 scores (relu of score + bias);</li>
 *   <li>dm rows: an expert's dots and dC row, fused ({@link Kernels#dotRowsAndScaledRowSum}) against the two
 *       kernels in turn, over every expert with 6 tokens each;</li>
 *   <li>gather: {@code m = Cᵀa} token by token (K rows in flight, as the forward does) against expert by expert
 *       (each row of C read once, added into its tokens' rows of m);</li>
 *   <li>AdamW: {@link Kernels#adamw} (the update as {@link AdamW#updateRange} defines it, rounding in double) against
 *       the same update rounding in float, nanoseconds an element, from L2 (16,384 elements) and from memory
 *       (4 M elements, 64 MB with the gradient and moments).</li>
 * </ul>
 */
public final class KernelTiming {
    private static final int EXPERTS = 21490, K = 32, O = 768, TILE = 256, TILE_ROWS = 192;

    public static void main(String[] args) {
        int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        Kernels vector = Kernels.get();
        Kernels scalar = new ScalarKernels();
        SplittableRandom r = new SplittableRandom(1);
        System.out.println("kernels: " + vector.describe() + "; " + tokens + " tokens, N " + EXPERTS + ", K " + K);
        for (int round = 0; round < rounds; round++) {
            System.out.printf("cut %.2f µs vector, %.2f µs scalar; TopK %.2f µs a row; dm rows %.1f ms fused, %.1f ms"
                            + " in turn; gather %.1f ms by token, %.1f ms by expert%n",
                    cut(vector, r), cut(scalar, r), topK(vector, r), dmRows(vector, tokens, true, r),
                    dmRows(vector, tokens, false, r), gather(vector, tokens, true, r), gather(vector, tokens, false, r));
        }
        for (int round = 0; round < rounds; round++) {
            System.out.printf("AdamW ns an element: from L2 %.3f in double, %.3f in float; from memory %.3f in double,"
                            + " %.3f in float%n", adamw(vector, 1 << 14, true, r), adamw(vector, 1 << 14, false, r),
                    adamw(vector, 1 << 22, true, r), adamw(vector, 1 << 22, false, r));
        }
    }

    /** Microseconds a cut, over 4096 reservoirs of relu'd Gaussian scores. */
    private static double cut(Kernels kern, SplittableRandom r) {
        int sets = 4096, n = 2 * K;
        long[] keys = new long[sets * n];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = TopK.key((float) Math.abs(r.nextGaussian() + 2), i % EXPERTS);
        }
        long sink = 0;
        long t0 = System.nanoTime();
        for (int s = 0; s < sets; s++) {
            sink += kern.keepLargest(keys, s * n, n, K);
        }
        return consume(sink, (System.nanoTime() - t0) / 1e3 / sets);
    }

    /** Microseconds of TopK a row, over one block of rows and every tile of a gate row. */
    private static double topK(Kernels kern, SplittableRandom r) {
        float[] bias = new float[EXPERTS];
        for (int i = 0; i < EXPERTS; i++) {
            bias[i] = (float) (0.1 * r.nextGaussian());
        }
        int tiles = Math.ceilDiv(EXPERTS, TILE);
        float[][] tile = new float[tiles][TILE_ROWS * TILE];
        for (float[] t : tile) {
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) r.nextGaussian();
            }
        }
        TopK top = new TopK(kern, TILE_ROWS, K);
        int[] idx = new int[K];
        float[] val = new float[K];
        long t0 = System.nanoTime();
        for (int u = 0; u < tiles; u++) {
            int c = u * TILE, cols = Math.min(TILE, EXPERTS - c);
            for (int row = 0; row < TILE_ROWS; row++) {
                top.offer(row, tile[u], row * TILE, bias, c, cols, c, true);
            }
        }
        for (int row = 0; row < TILE_ROWS; row++) {
            top.drain(row, idx, val, 0);
        }
        return consume(idx[0], (System.nanoTime() - t0) / 1e3 / TILE_ROWS);
    }

    /** Milliseconds for every expert's da and dC row from 6 random tokens' rows of dm. */
    private static double dmRows(Kernels kern, int tokens, boolean fused, SplittableRandom r) {
        float[] dm = gaussian(r, tokens * O);
        float[] c = gaussian(r, EXPERTS * O);
        float[] dC = new float[EXPERTS * O];
        int per = 6;
        int[][] rows = new int[EXPERTS][per];
        for (int[] t : rows) {
            for (int i = 0; i < per; i++) {
                t[i] = r.nextInt(tokens);
            }
            Arrays.sort(t);
        }
        float[] codes = gaussian(r, per);
        float[] da = new float[per];
        long t0 = System.nanoTime();
        for (int n = 0; n < EXPERTS; n++) {
            if (fused) {
                kern.dotRowsAndScaledRowSum(dm, O, rows[n], per, c, n * O, O, da, codes, dC, n * O);
            } else {
                kern.dotRows(dm, O, rows[n], per, c, n * O, O, da);
                kern.scaledRowSum(dm, O, 0, rows[n], codes, per, dC, n * O, O);
            }
        }
        return consume(dC[0] + da[0], (System.nanoTime() - t0) / 1e6);
    }

    /** Milliseconds for m [T, O] = the K scaled rows of C each token selects, by token or by expert. */
    private static double gather(Kernels kern, int tokens, boolean byToken, SplittableRandom r) {
        float[] c = gaussian(r, EXPERTS * O);
        int[] index = new int[tokens * K];
        float[] value = new float[tokens * K];
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < K; j++) {
                // K distinct experts a token, the popular ones more often, as a trained gate picks them
                int n;
                boolean taken;
                do {
                    n = (int) Math.min(EXPERTS - 1, Math.abs(r.nextGaussian()) * EXPERTS / 2.5);
                    taken = false;
                    for (int q = 0; q < j; q++) {
                        taken |= index[t * K + q] == n;
                    }
                } while (taken);
                index[t * K + j] = n;
                value[t * K + j] = (float) r.nextDouble();
            }
        }
        float[] m = new float[tokens * O];
        long t0 = System.nanoTime();
        if (byToken) {
            int[] rows = new int[K];
            float[] scales = new float[K];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(index, t * K, rows, 0, K);
                System.arraycopy(value, t * K, scales, 0, K);
                kern.scaledRowSum(c, O, 0, rows, scales, K, m, t * O, O);
            }
        } else {
            // the pairs bucketed by expert (a counting sort, as the backward's sparse gradients do), then each row
            // of C added into the rows of m of its tokens
            int[] start = new int[EXPERTS + 1];
            for (int e : index) {
                start[e + 1]++;
            }
            for (int n = 0; n < EXPERTS; n++) {
                start[n + 1] += start[n];
            }
            int[] pairs = new int[tokens * K];
            int[] fill = Arrays.copyOf(start, EXPERTS);
            for (int e = 0; e < tokens * K; e++) {
                pairs[fill[index[e]]++] = e;
            }
            for (int n = 0; n < EXPERTS; n++) {
                for (int q = start[n]; q < start[n + 1]; q++) {
                    kern.axpy(value[pairs[q]], c, n * O, m, pairs[q] / K * O, O);
                }
            }
        }
        return consume(m[0], (System.nanoTime() - t0) / 1e6);
    }

    /**
     * Nanoseconds an element of AdamW over {@code n} parameters, repeated over about 2^28 elements: the kernel, or
     * with {@code !asDefined} the same operations in float arithmetic (what a float32 definition would cost).
     */
    private static double adamw(Kernels kern, int n, boolean asDefined, SplittableRandom r) {
        float[] p = gaussian(r, n), g = gaussian(r, n), m = new float[n], v = new float[n];
        MemorySegment ps = MemorySegment.ofArray(p), gs = MemorySegment.ofArray(g);
        MemorySegment ms = MemorySegment.ofArray(m), vs = MemorySegment.ofArray(v);
        AdamW.Coefficients c = AdamW.reference().next(1e-4);
        int reps = Math.max(1, (1 << 28) / n);
        long t0 = System.nanoTime();
        for (int rep = 0; rep < reps; rep++) {
            if (asDefined) {
                kern.adamw(ps, gs, ms, vs, 0, n, c);
            } else {
                adamwInFloat(p, g, m, v, c);
            }
        }
        return consume(p[0], (double) (System.nanoTime() - t0) / reps / n);
    }

    private static void adamwInFloat(float[] p, float[] g, float[] m, float[] v, AdamW.Coefficients c) {
        VectorSpecies<Float> f = FloatVector.SPECIES_PREFERRED;
        float b1 = (float) c.beta1(), b2 = (float) c.beta2(), oneMinusB1 = 1 - b1, oneMinusB2 = 1 - b2;
        float decay = (float) c.decay(), step = (float) c.stepSize(), bc2Sqrt = (float) c.bc2Sqrt();
        float eps = (float) c.eps();
        for (int i = 0; i < f.loopBound(p.length); i += f.length()) {
            FloatVector gi = FloatVector.fromArray(f, g, i);
            FloatVector mi = FloatVector.fromArray(f, m, i).mul(b1).add(gi.mul(oneMinusB1));
            FloatVector vi = FloatVector.fromArray(f, v, i).mul(b2).add(gi.mul(oneMinusB2).mul(gi));
            FloatVector denom = vi.sqrt().div(bc2Sqrt).add(eps);
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            FloatVector.fromArray(f, p, i).mul(decay).sub(mi.mul(step).div(denom)).intoArray(p, i);
        }
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    /** {@code time}, after making {@code result} observable so that the timed work is not dropped as dead. */
    private static double consume(double result, double time) {
        if (result == 42.4242) {
            System.out.print("");
        }
        return time;
    }
}
