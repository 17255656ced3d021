package dev.mxd.text.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LogisticRegressionTest {

    /** Rows {@code x} repeated: {@code pos} positives and {@code neg} negatives. */
    private static void cell(List<double[]> xs, List<Boolean> ys, double[] x, int pos, int neg) {
        for (int i = 0; i < pos + neg; i++) {
            xs.add(x.clone());
            ys.add(i < pos);
        }
    }

    private static LogisticRegression.Fit fit(List<double[]> xs, List<Boolean> ys, double lambda) {
        boolean[] y = new boolean[ys.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = ys.get(i);
        }
        return LogisticRegression.fit(xs.toArray(double[][]::new), y, lambda);
    }

    /**
     * Four cells whose odds multiply (o00·o11 = o01·o10) are fitted exactly by an additive logit, so the
     * unpenalised maximum-likelihood solution is known in closed form: b = log o00, w1 = log(o10/o00),
     * w2 = log(o01/o00).
     */
    @Test
    void saturatedTwoFeatureDesignGivesTheClosedFormSolution() {
        List<double[]> xs = new ArrayList<>();
        List<Boolean> ys = new ArrayList<>();
        cell(xs, ys, new double[] {0, 0}, 1, 2);    // odds 1/2
        cell(xs, ys, new double[] {0, 1}, 2, 1);    // odds 2
        cell(xs, ys, new double[] {1, 0}, 3, 1);    // odds 3
        cell(xs, ys, new double[] {1, 1}, 12, 1);   // odds 12 = 3 · 2 / (1/2)
        LogisticRegression.Fit f = fit(xs, ys, 0);
        assertEquals(Math.log(0.5), f.intercept(), 1e-12);
        assertEquals(Math.log(6), f.weights()[0], 1e-12);
        assertEquals(Math.log(4), f.weights()[1], 1e-12);
        assertEquals(12.0 / 13, f.probability(new double[] {1, 1}), 1e-12);
    }

    /**
     * x = ±1 with a positives and b negatives at +1 and the reverse at −1: by symmetry b = 0, and the penalised
     * optimum solves (a+b)·(a/(a+b) − σ(w))·2 = λ·w, checked here to 1e-12 by bisection.
     */
    @Test
    void symmetricDesignWithPenaltyMatchesTheOneDimensionalOptimum() {
        int a = 7, b = 3;
        double lambda = 2.5;
        List<double[]> xs = new ArrayList<>();
        List<Boolean> ys = new ArrayList<>();
        cell(xs, ys, new double[] {1}, a, b);
        cell(xs, ys, new double[] {-1}, b, a);
        LogisticRegression.Fit f = fit(xs, ys, lambda);
        double lo = 0, hi = 10;
        for (int i = 0; i < 200; i++) {
            double w = (lo + hi) / 2;
            double g = 2 * (a - (a + b) * LogisticRegression.sigmoid(w)) - lambda * w;
            if (g > 0) {
                lo = w;
            } else {
                hi = w;
            }
        }
        assertEquals(0, f.intercept(), 1e-12);
        assertEquals(lo, f.weights()[0], 1e-12);
        // without the penalty: w = log(a/b)
        assertEquals(Math.log((double) a / b), fit(xs, ys, 0).weights()[0], 1e-12);
    }

    @Test
    void separableClassesGetAFiniteProbeWithAPenaltyAndAClearErrorWithout() {
        List<double[]> xs = new ArrayList<>();
        List<Boolean> ys = new ArrayList<>();
        cell(xs, ys, new double[] {1}, 5, 0);
        cell(xs, ys, new double[] {-1}, 0, 5);
        LogisticRegression.Fit f = fit(xs, ys, 1);
        assertTrue(Double.isFinite(f.weights()[0]) && f.weights()[0] > 0);
        assertTrue(f.predict(new double[] {1}) && !f.predict(new double[] {-1}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fit(xs, ys, 0));
        assertTrue(e.getMessage().contains("separable classes"), e.getMessage());
    }

    /** The penalised objective's gradient vanishes at the fit on noisy five-feature data. */
    @Test
    void gradientVanishesOnRandomData() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 400, d = 5;
        double[][] x = new double[n][d];
        boolean[] y = new boolean[n];
        for (int i = 0; i < n; i++) {
            double m = -0.3;
            for (int j = 0; j < d; j++) {
                x[i][j] = r.nextGaussian();
                m += (j - 2) * 0.7 * x[i][j];
            }
            y[i] = r.nextDouble() < LogisticRegression.sigmoid(m);
        }
        double lambda = 0.5;
        LogisticRegression.Fit f = LogisticRegression.fit(x, y, lambda);
        double[] g = new double[d + 1];
        for (int i = 0; i < n; i++) {
            double res = f.probability(x[i]) - (y[i] ? 1 : 0);
            g[0] += res;
            for (int j = 0; j < d; j++) {
                g[j + 1] += res * x[i][j];
            }
        }
        for (int j = 0; j < d; j++) {
            g[j + 1] += lambda * f.weights()[j];
        }
        for (double v : g) {
            assertEquals(0, v, 1e-9);
        }
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> LogisticRegression.fit(new double[0][], new boolean[0], 1));
        assertThrows(IllegalArgumentException.class,
                () -> LogisticRegression.fit(new double[][] {{1}, {1, 2}}, new boolean[2], 1));
        assertThrows(IllegalArgumentException.class,
                () -> LogisticRegression.fit(new double[][] {{Double.NaN}}, new boolean[1], 1));
        assertThrows(IllegalArgumentException.class, () -> LogisticRegression.fit(new double[][] {{1}}, new boolean[1], -1));
    }
}
