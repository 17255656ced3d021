package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mxd.Codes;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * The comparisons of DESIGN §6 and §1: outputs within {@code atol + rtol·|y64|} of the oracle (rtol = 1e-4,
 * atol = 1e-5·max|y64|), and codes by the near-tie rule.
 */
final class Numerics {
    static final double RTOL = 1e-4;
    static final double ATOL_SCALE = 1e-5;

    private Numerics() {
    }

    /** Every element of {@code y} within the DESIGN §6 tolerance of the oracle's {@code y64}. */
    static void assertClose(String what, float[] y, double[] y64) {
        assertEquals(y64.length, y.length, what + ": length");
        double max = 0;
        for (double v : y64) {
            max = Math.max(max, Math.abs(v));
        }
        double atol = ATOL_SCALE * max;
        for (int i = 0; i < y.length; i++) {
            double err = Math.abs(y[i] - y64[i]);
            if (!(err <= atol + RTOL * Math.abs(y64[i]))) {
                fail(what + ": element " + i + " is " + y[i] + ", the oracle " + y64[i] + " (|error| " + err
                        + " > " + (atol + RTOL * Math.abs(y64[i])) + ")");
            }
        }
    }

    /**
     * Codes agree with the oracle's scores by the rule of DESIGN §1. For each token, with the oracle's scores s
     * (relu(g) for an MxD, z for a TC), its K-th and (K+1)-th largest values v_K and v_K+1, and a tolerance
     * {@code tol = 1e-5·max|s| + 1e-4·|v_K|}:
     * <ul>
     * <li>each of the K pairs names a distinct index whose value is within tol of s[index];</li>
     * <li>pairs are sorted by value descending, equal values by increasing index;</li>
     * <li>an index whose score is not within tol of v_K or v_K+1 (not a near-tie) is selected exactly when the oracle
     *     selects it.</li>
     * </ul>
     *
     * @param scores scores[t] = the oracle's N (or H) scores of token t
     */
    static void assertCodesAgree(String what, Codes codes, double[][] scores, int k) {
        assertEquals(scores.length, codes.tokens(), what + ": tokens");
        assertEquals(k, codes.width(), what + ": width");
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
                assertTrue(idx >= 0 && idx < s.length, at + ": index out of range");
                assertTrue(chosen.add(idx), at + ": index repeated");
                assertTrue(Math.abs(v - s[idx]) <= tol, at + ": the oracle's score is " + s[idx] + " (tol " + tol + ")");
                if (j > 0) {
                    float prev = codes.value(t, j - 1);
                    assertTrue(prev > v || (prev == v && codes.index(t, j - 1) < idx),
                            at + ": not sorted after (" + codes.index(t, j - 1) + ", " + prev + ")");
                }
            }
            for (int n = 0; n < s.length; n++) {
                boolean nearTie = Math.abs(s[n] - vk) <= tol || Math.abs(s[n] - vk1) <= tol;
                if (!nearTie) {
                    boolean oracleSelects = s[n] >= vk;
                    assertEquals(oracleSelects, chosen.contains(n), what + ": token " + t + ", index " + n + " (score "
                            + s[n] + ", K-th " + vk + ", (K+1)-th " + vk1 + ") selected by the oracle: " + oracleSelects);
                }
            }
        }
    }
}
