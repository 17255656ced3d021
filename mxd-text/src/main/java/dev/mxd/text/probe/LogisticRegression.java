package dev.mxd.text.probe;

import java.util.Arrays;
import java.util.Objects;

/**
 * Binary logistic regression with an L2 penalty on the weights (not on the intercept), fitted exactly by Newton's
 * method (iteratively reweighted least squares) in double precision, for the few features of a sparse probe.
 *
 * <p>It minimises {@code Σᵢ log(1 + exp(−sᵢ·(b + w·xᵢ))) + λ/2·‖w‖²} with {@code sᵢ = ±1}. Each step solves the
 * (d+1)×(d+1) Newton system by Gaussian elimination with partial pivoting and halves the step until the objective
 * does not increase, so the fit converges from zero for any data; with {@code λ > 0} the minimum is unique and
 * finite even when the classes are separable. Meant for small d (the work per step is O(n·d² + d³)).
 */
public final class LogisticRegression {
    static final int MAX_ITERATIONS = 100;

    private LogisticRegression() {
    }

    /**
     * A fitted model.
     *
     * @param intercept  b
     * @param weights    w [d]
     * @param iterations Newton steps taken
     */
    public record Fit(double intercept, double[] weights, int iterations) {
        public Fit {
            weights = weights.clone();
        }

        @Override
        public double[] weights() {
            return weights.clone();
        }

        /** The modelled probability of the positive class for a row of d features. */
        public double probability(double[] x) {
            return sigmoid(margin(intercept, weights, x));
        }

        /** Whether the row is predicted positive (probability ≥ 0.5). */
        public boolean predict(double[] x) {
            return margin(intercept, weights, x) >= 0;
        }
    }

    /**
     * Fits the model.
     *
     * @param x      n rows of d features each (d ≥ 0, the same for every row); not modified
     * @param y      n labels, true for the positive class
     * @param lambda the L2 penalty λ ≥ 0 on the weights
     * @throws IllegalArgumentException for no rows, rows of different widths or non-finite values, n labels
     *                                  that disagree with n rows, a negative or non-finite λ, or a fit that does not
     *                                  converge in {@value #MAX_ITERATIONS} steps (e.g. separable classes with λ = 0)
     */
    public static Fit fit(double[][] x, boolean[] y, double lambda) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        if (x.length == 0 || x.length != y.length) {
            throw new IllegalArgumentException("logistic regression needs n >= 1 rows and as many labels, got "
                    + x.length + " rows and " + y.length + " labels");
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("the L2 penalty must be finite and >= 0, got " + lambda);
        }
        int d = x[0].length;
        for (int i = 0; i < x.length; i++) {
            if (x[i].length != d) {
                throw new IllegalArgumentException("row " + i + " has " + x[i].length + " features, row 0 has " + d);
            }
            for (double v : x[i]) {
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("row " + i + " holds the non-finite feature " + v);
                }
            }
        }
        double[] theta = new double[d + 1];     // theta[0] = b, theta[1 + j] = w[j]
        double objective = objective(x, y, lambda, theta);
        for (int it = 1; it <= MAX_ITERATIONS; it++) {
            double[] g = new double[d + 1];
            double[][] h = new double[d + 1][d + 1];
            for (int i = 0; i < x.length; i++) {
                double p = sigmoid(margin(theta[0], theta, 1, x[i]));
                double r = p - (y[i] ? 1 : 0);
                double q = p * (1 - p);
                for (int a = 0; a <= d; a++) {
                    double xa = a == 0 ? 1 : x[i][a - 1];
                    g[a] += r * xa;
                    for (int c = 0; c <= a; c++) {
                        h[a][c] += q * xa * (c == 0 ? 1 : x[i][c - 1]);
                    }
                }
            }
            for (int a = 0; a <= d; a++) {
                for (int c = 0; c < a; c++) {
                    h[c][a] = h[a][c];
                }
                if (a > 0) {
                    g[a] += lambda * theta[a];
                    h[a][a] += lambda;
                }
            }
            double[] step = solve(h, g);
            if (step == null) {
                throw new IllegalArgumentException("logistic regression: the Newton system is singular (with λ = 0: a constant"
                        + " feature, two collinear ones, or separable classes, which need an L2 penalty > 0)");
            }
            double stepSize = 0, size = 0;
            for (int a = 0; a <= d; a++) {
                stepSize = Math.max(stepSize, Math.abs(step[a]));
                size = Math.max(size, Math.abs(theta[a]));
            }
            if (stepSize <= 1e-13 * (1 + size)) {
                for (int a = 0; a <= d; a++) {
                    theta[a] -= step[a];
                }
                return new Fit(theta[0], Arrays.copyOfRange(theta, 1, d + 1), it);
            }
            // Halve the step until the objective does not increase; near the optimum (a short step) the objective's
            // change is below its rounding, and Newton's full step is taken.
            double scale = 1;
            double[] next = new double[d + 1];
            double nextObjective;
            while (true) {
                for (int a = 0; a <= d; a++) {
                    next[a] = theta[a] - scale * step[a];
                }
                nextObjective = objective(x, y, lambda, next);
                if (nextObjective <= objective || scale * stepSize <= 1e-6 * (1 + size) || scale < 1e-10) {
                    break;
                }
                scale /= 2;
            }
            theta = next;
            objective = nextObjective;
        }
        throw new IllegalArgumentException("logistic regression did not converge in " + MAX_ITERATIONS
                + " Newton steps (separable classes need an L2 penalty > 0)");
    }

    /** The penalised negative log-likelihood at theta. */
    static double objective(double[][] x, boolean[] y, double lambda, double[] theta) {
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            double m = margin(theta[0], theta, 1, x[i]);
            sum += softplus(y[i] ? -m : m);
        }
        double penalty = 0;
        for (int a = 1; a < theta.length; a++) {
            penalty += theta[a] * theta[a];
        }
        return sum + lambda / 2 * penalty;
    }

    /** log(1 + e^z) without overflow. */
    private static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    static double sigmoid(double z) {
        if (z >= 0) {
            return 1 / (1 + Math.exp(-z));
        }
        double e = Math.exp(z);
        return e / (1 + e);
    }

    private static double margin(double b, double[] w, double[] x) {
        return margin(b, w, 0, x);
    }

    private static double margin(double b, double[] w, int from, double[] x) {
        double m = b;
        for (int j = 0; j < x.length; j++) {
            m += w[from + j] * x[j];
        }
        return m;
    }

    /** Solves a·s = g by Gaussian elimination with partial pivoting; null when a is singular. Overwrites a. */
    private static double[] solve(double[][] a, double[] g) {
        int n = g.length;
        double[] b = g.clone();
        double scale = 0;
        for (double[] row : a) {
            for (double v : row) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            if (!(Math.abs(a[pivot][col]) > 1e-13 * scale)) {
                return null;
            }
            double[] tr = a[col];
            a[col] = a[pivot];
            a[pivot] = tr;
            double tb = b[col];
            b[col] = b[pivot];
            b[pivot] = tb;
            for (int r = col + 1; r < n; r++) {
                double f = a[r][col] / a[col][col];
                for (int c = col; c < n; c++) {
                    a[r][c] -= f * a[col][c];
                }
                b[r] -= f * b[col];
            }
        }
        double[] s = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double v = b[r];
            for (int c = r + 1; c < n; c++) {
                v -= a[r][c] * s[c];
            }
            s[r] = v / a[r][r];
        }
        return s;
    }
}
