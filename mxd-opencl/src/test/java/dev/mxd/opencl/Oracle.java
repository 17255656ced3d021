package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.oracle.ReferenceMxd;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/** Comparisons with the float64 oracle under the tolerances of DESIGN §6 and the code rule of §1. */
final class Oracle {
    static final double RTOL = 1e-4;
    static final double ATOL_FRACTION = 1e-5;

    private Oracle() {
    }

    /** T·width floats uniform in [-1, 1). */
    static float[] inputs(int tokens, int width, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[tokens * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (2 * rnd.nextDouble() - 1);
        }
        return x;
    }

    /** |actual − expected| <= atol + rtol·|expected| everywhere, atol = 1e-5 · max|expected|. */
    static void assertClose(String what, double[] expected, float[] actual, int rowWidth) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        for (double e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        double atol = ATOL_FRACTION * max;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= atol + RTOL * Math.abs(expected[i]))) {
                fail(what + ": element [" + i / rowWidth + ", " + i % rowWidth + "] is " + actual[i] + ", oracle "
                        + expected[i] + " (error " + err + ", allowed " + (atol + RTOL * Math.abs(expected[i])) + ")");
            }
        }
    }

    /**
     * The codes of a backend against the oracle's scores (relu(gate) for an MxD, z otherwise): every value is
     * its index's score within tolerance; pairs are sorted by value descending, ties to the lower index, with
     * no repeated index; and the chosen set equals the oracle's except for indices whose score is within
     * tolerance of the K-th or (K+1)-th largest score (near-ties may swap).
     */
    static void assertCodes(String what, ReferenceMxd oracle, float[] x, int tokens, Codes codes) {
        int k = oracle.config().k();
        assertEquals(k, codes.width(), what + ": code width");
        double[][] scores = new double[tokens][];
        double max = 0;
        for (int t = 0; t < tokens; t++) {
            scores[t] = oracle.config().kind() == Kind.MXD ? relu(oracle.gates(x, t)) : oracle.hiddenCode(x, t);
            for (double s : scores[t]) {
                max = Math.max(max, Math.abs(s));
            }
        }
        double atol = ATOL_FRACTION * max;
        for (int t = 0; t < tokens; t++) {
            double[] s = scores[t];
            int[] top = ReferenceMxd.topK(s, Math.min(s.length, k + 1));
            double kth = s[top[k - 1]];
            double next = top.length > k ? s[top[k]] : kth;
            Set<Integer> chosen = new HashSet<>();
            for (int j = 0; j < k; j++) {
                int idx = codes.index(t, j);
                float v = codes.value(t, j);
                String at = what + ": token " + t + ", slot " + j + " (index " + idx + ", value " + v + ")";
                assertTrue(idx >= 0 && idx < s.length, at + ": index out of range");
                assertTrue(chosen.add(idx), at + ": index repeated");
                assertTrue(Math.abs(v - s[idx]) <= atol + RTOL * Math.abs(s[idx]), at + ": oracle score " + s[idx]);
                if (j > 0) {
                    float pv = codes.value(t, j - 1);
                    int pi = codes.index(t, j - 1);
                    assertTrue(pv > v || (pv == v && pi < idx), at + ": not after (" + pi + ", " + pv + ")");
                }
            }
            for (int j = 0; j < k; j++) {
                int idx = top[j];
                if (!chosen.contains(idx) && !nearBoundary(s[idx], kth, next, atol)) {
                    fail(what + ": token " + t + " lacks index " + idx + " (score " + s[idx] + "), which is not a"
                            + " near-tie of the K-th score " + kth + " / (K+1)-th " + next + "; got " + chosen);
                }
            }
            for (int idx : chosen) {
                boolean inOracle = false;
                for (int j = 0; j < k; j++) {
                    inOracle |= top[j] == idx;
                }
                if (!inOracle && !nearBoundary(s[idx], kth, next, atol)) {
                    fail(what + ": token " + t + " chose index " + idx + " (score " + s[idx]
                            + ") outside the oracle's top K, not a near-tie of " + kth + " / " + next);
                }
            }
        }
    }

    private static boolean nearBoundary(double v, double kth, double next, double atol) {
        return Math.abs(v - kth) <= atol + RTOL * Math.abs(kth) || Math.abs(v - next) <= atol + RTOL * Math.abs(next);
    }

    private static double[] relu(double[] g) {
        double[] r = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            r[i] = g[i] > 0 ? g[i] : 0;
        }
        return r;
    }
}
