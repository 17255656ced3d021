package dev.mxd.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Checks a GEMM result before it is timed, so that a benchmark never reports the speed of a wrong kernel:
 * sampled entries of {@code c = a · b} (row-major float32, a [m, k], b [k, n]) against float64 dot products.
 */
final class GemmCheck {
    private static final int SAMPLES = 256;

    private GemmCheck() {
    }

    /** Fills {@code s} with {@code count} floats uniform in [-1, 1). */
    static void fillUniform(MemorySegment s, long count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (2 * rnd.nextDouble() - 1));
        }
    }

    /**
     * Compares 256 sampled entries (the four corners among them) with float64, allowing the worst-case
     * rounding of a float32 sum of k products in any order: {@code |c − c64| ≤ (k + 2)·2⁻²⁴·Σ|a·b|}.
     *
     * @param who names the implementation in the message
     * @throws IllegalStateException naming the first entry outside that bound
     */
    static void check(String who, int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + n * 17L + k);
        for (int s = 0; s < SAMPLES; s++) {
            // Always include the corners, where tile-edge bugs show first.
            int i = s == 0 || s == 1 ? 0 : s == 2 || s == 3 ? m - 1 : rnd.nextInt(m);
            int j = s == 0 || s == 2 ? 0 : s == 1 || s == 3 ? n - 1 : rnd.nextInt(n);
            double exact = 0;
            double magnitude = 0;
            for (int p = 0; p < k; p++) {
                double term = (double) a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * k + p)
                        * b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) p * n + j);
                exact += term;
                magnitude += Math.abs(term);
            }
            float got = c.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j);
            // A float32 sum of k terms, in any order and with or without FMA, is within this of the exact sum;
            // a missing, repeated or misplaced term of typical size is not.
            if (!(Math.abs(got - exact) <= (k + 2) * 0x1p-24 * magnitude)) {
                throw new IllegalStateException(who + " computed c[" + i + ", " + j + "] = " + got + " for an "
                        + m + "x" + k + " by " + k + "x" + n + " product, float64 gives " + exact
                        + ": the result is wrong, so its speed is not measured");
            }
        }
    }
}
