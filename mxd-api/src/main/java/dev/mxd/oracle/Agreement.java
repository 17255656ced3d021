package dev.mxd.oracle;

import dev.mxd.Codes;
import dev.mxd.Kind;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * The numerics contract every backend is held to (DESIGN §6 and §1), as checks that throw
 * {@link AssertionError} with the offending position. Backend test suites (mxd's own and third parties') use
 * these, so there is one definition of "agrees with the oracle".
 */
public final class Agreement {
    /** Relative tolerance of DESIGN §6. */
    public static final double RTOL = 1e-4;
    /** Absolute tolerance of DESIGN §6, as a fraction of the largest oracle magnitude. */
    public static final double ATOL_SCALE = 1e-5;

    private Agreement() {
    }

    /**
     * Every element of {@code y} within {@code atol + rtol·|y64|} of the oracle's {@code y64}, with
     * {@code atol = 1e-5·max|y64|}.
     *
     * @param rowWidth the width of a row, to name the failing element as [row, column]
     */
    public static void requireClose(String what, float[] y, double[] y64, int rowWidth) {
        if (y.length != y64.length) {
            throw new AssertionError(what + ": " + y.length + " values, the oracle has " + y64.length);
        }
        double max = 0;
        for (double v : y64) {
            max = Math.max(max, Math.abs(v));
        }
        double atol = ATOL_SCALE * max;
        for (int i = 0; i < y.length; i++) {
            double err = Math.abs(y[i] - y64[i]);
            double allowed = atol + RTOL * Math.abs(y64[i]);
            if (!(err <= allowed)) {
                throw new AssertionError(what + ": element [" + i / rowWidth + ", " + i % rowWidth + "] is " + y[i]
                        + ", the oracle " + y64[i] + " (|error| " + err + " > " + allowed + ")");
            }
        }
    }

    /** The oracle's per-token scores the codes are chosen from: relu(g) [N] for an MxD, z [H] otherwise. */
    public static double[][] scores(OracleMxd oracle, float[] x, int tokens) {
        double[][] s = new double[tokens][];
        for (int t = 0; t < tokens; t++) {
            if (oracle.config().kind() == Kind.MXD) {
                s[t] = oracle.gates(x, t);
                for (int n = 0; n < s[t].length; n++) {
                    s[t][n] = Math.max(0, s[t][n]);
                }
            } else {
                s[t] = oracle.hiddenCode(x, t);
            }
        }
        return s;
    }

    /**
     * Codes agree with the oracle's scores by the rule of DESIGN §1. For each token, with scores s, its K-th and
     * (K+1)-th largest values v_K and v_K+1, and {@code tol = 1e-5·max|s| + 1e-4·|v_K|}:
     * each of the K pairs names a distinct index whose value is within tol of s[index]; pairs are sorted by value
     * descending, equal values by increasing index; an index whose score is not within tol of v_K or v_K+1 (not a
     * near-tie) is selected exactly when the oracle selects it.
     */
    public static void requireCodesAgree(String what, Codes codes, double[][] scores, int k) {
        check(codes.tokens() == scores.length, what + ": codes hold " + codes.tokens() + " tokens, the oracle " + scores.length);
        check(codes.width() == k, what + ": codes have width " + codes.width() + ", expected K = " + k);
        for (int t = 0; t < scores.length; t++) {
            double[] s = scores[t];
            double[] sorted = s.clone();
            Arrays.sort(sorted);
            double vk = sorted[s.length - k];
            double vk1 = k < s.length ? sorted[s.length - k - 1] : Double.NEGATIVE_INFINITY;
            double maxAbs = Math.max(Math.abs(sorted[0]), Math.abs(sorted[s.length - 1]));
            double tol = ATOL_SCALE * maxAbs + RTOL * Math.abs(vk);
            Set<Integer> chosen = new HashSet<>();
            for (int j = 0; j < k; j++) {
                int idx = codes.index(t, j);
                float v = codes.value(t, j);
                String at = what + ": token " + t + ", slot " + j + " (index " + idx + ", value " + v + ")";
                check(idx >= 0 && idx < s.length, at + ": index out of range");
                check(chosen.add(idx), at + ": index repeated");
                check(Math.abs(v - s[idx]) <= tol, at + ": the oracle's score is " + s[idx] + " (tol " + tol + ")");
                if (j > 0) {
                    float prev = codes.value(t, j - 1);
                    check(prev > v || (prev == v && codes.index(t, j - 1) < idx),
                            at + ": not sorted after (" + codes.index(t, j - 1) + ", " + prev + ")");
                }
            }
            for (int n = 0; n < s.length; n++) {
                boolean nearTie = Math.abs(s[n] - vk) <= tol || Math.abs(s[n] - vk1) <= tol;
                boolean oracleSelects = s[n] >= vk;
                check(nearTie || oracleSelects == chosen.contains(n), what + ": token " + t + ", index " + n + " (score "
                        + s[n] + ", K-th " + vk + ", (K+1)-th " + vk1 + ") selected by the oracle: " + oracleSelects);
            }
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new AssertionError(message);
        }
    }
}
