package dev.mxd.bench.regress;

import java.util.Arrays;

/**
 * The one-sided Mann–Whitney U test (Wilcoxon rank-sum) on two sets of benchmark measurements (the fork means of
 * two runs, {@link Comparison}): how likely a separation at least this complete is when both sets come from the
 * same distribution.
 *
 * <p>Why this test: it is exact at the 5–10 forks a run has (a bootstrap interval of the ratio of means, resampling
 * 5 values, is too narrow and flags noise); it makes no assumption about the shape of the distribution, which on a
 * shared machine is skewed by the forks other processes slowed down; and one such outlier moves a rank by one, not
 * the mean by a third. It tests whether one run's values tend to lie below the other's, not by how much: the
 * comparison asks the size of the change of the scores separately.
 *
 * <p>Exact null distribution for n·m ≤ {@value #EXACT_LIMIT} (no-ties counts: benchmark scores are continuous,
 * ties are counted half and leave the exact p slightly low), normal approximation with continuity and tie
 * correction above.
 */
final class MannWhitney {
    /** Largest n·m for which the exact distribution is computed (a 20 + 20 sample comparison). */
    static final int EXACT_LIMIT = 400;

    private MannWhitney() {
    }

    /**
     * One-sided p-value of "the values of {@code low} tend to be smaller than those of {@code high}": the
     * probability, under the null hypothesis of one distribution, of a U statistic at least as large as observed,
     * where U counts the pairs (l, h) with l &lt; h (ties count one half).
     *
     * @throws IllegalArgumentException when a set is empty or holds a NaN
     */
    static double pLess(double[] low, double[] high) {
        if (low.length == 0 || high.length == 0) {
            throw new IllegalArgumentException("the Mann-Whitney test needs samples on both sides, got "
                    + low.length + " and " + high.length);
        }
        double u = 0;
        for (double l : low) {
            for (double h : high) {
                if (Double.isNaN(l) || Double.isNaN(h)) {
                    throw new IllegalArgumentException("a benchmark sample is NaN");
                }
                u += l < h ? 1 : l == h ? 0.5 : 0;
            }
        }
        int n = low.length;
        int m = high.length;
        return (long) n * m <= EXACT_LIMIT ? exactUpperTail(n, m, u) : normalUpperTail(low, high, u);
    }

    /**
     * The smallest p-value {@link #pLess} can give for sets of n and m samples (all of one set below the other):
     * 1 / C(n + m, n). A test at level α has no power at all when this exceeds α.
     */
    static double smallestP(int n, int m) {
        double c = 1;
        for (int i = 1; i <= Math.min(n, m); i++) {
            c = c * (n + m - Math.min(n, m) + i) / i;
        }
        return 1 / c;
    }

    /** P(U ≥ u) from the counts of the arrangements of n and m samples by U (Gaussian binomial coefficients). */
    private static double exactUpperTail(int n, int m, double u) {
        // counts[j][k]: arrangements of i values of one set and j of the other whose U is k, built up over i.
        double[][] counts = new double[m + 1][];
        for (int j = 0; j <= m; j++) {
            counts[j] = new double[] {1};
        }
        for (int i = 1; i <= n; i++) {
            double[][] next = new double[m + 1][];
            next[0] = new double[] {1};
            for (int j = 1; j <= m; j++) {
                // The largest of the i + j values is from the low set (below none of the others: adds 0 to U)
                // or from the high set (above all i low values: adds i).
                double[] largestLow = counts[j];
                double[] largestHigh = next[j - 1];
                double[] c = new double[i * j + 1];
                for (int k = 0; k < largestLow.length; k++) {
                    c[k] += largestLow[k];
                }
                for (int k = 0; k < largestHigh.length; k++) {
                    c[k + i] += largestHigh[k];
                }
                next[j] = c;
            }
            counts = next;
        }
        double[] dist = counts[m];
        double total = 0;
        double tail = 0;
        for (int k = 0; k < dist.length; k++) {
            total += dist[k];
            if (k >= u - 1e-9) {
                tail += dist[k];
            }
        }
        return tail / total;
    }

    private static double normalUpperTail(double[] low, double[] high, double u) {
        int n = low.length;
        int m = high.length;
        double[] all = new double[n + m];
        System.arraycopy(low, 0, all, 0, n);
        System.arraycopy(high, 0, all, n, m);
        Arrays.sort(all);
        double tieTerm = 0;
        for (int i = 0; i < all.length;) {
            int j = i;
            while (j < all.length && all[j] == all[i]) {
                j++;
            }
            double t = j - i;
            tieTerm += t * t * t - t;
            i = j;
        }
        double total = n + m;
        double variance = n * (double) m / 12 * ((total + 1) - tieTerm / (total * (total - 1)));
        double z = (u - n * (double) m / 2 - 0.5) / Math.sqrt(variance);
        return 0.5 * erfc(z / Math.sqrt(2));
    }

    /** The complementary error function (Numerical Recipes' erfcc, relative error below 1.2e-7). */
    private static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
