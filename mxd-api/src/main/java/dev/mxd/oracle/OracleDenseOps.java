package dev.mxd.oracle;

import dev.mxd.Activation;
import dev.mxd.DenseOps;

/**
 * The dense operations of the {@code reference} backend: plain loops accumulating in double, rounded to float32 at
 * the end of each operation, so that a model on any other backend can be checked against the same model here. The
 * float64 results themselves ({@link #dense64}, {@link #selfAttention64}) are what backend tests compare with under
 * DESIGN §6. Single-threaded and slow; holds heap arrays only (closing releases nothing).
 */
public final class OracleDenseOps extends DenseOps {

    public OracleDenseOps() {
        super(OracleBackend.NAME);
    }

    /**
     * {@code act(x·W + b)} in double: every product and sum in double, the activation's double definition.
     *
     * @param x      [rows, inputs] row-major
     * @param weight [inputs, outputs] row-major
     * @param bias   [outputs] or null
     * @param act    or null for none
     * @return [rows, outputs] row-major, a new array
     */
    public static double[] dense64(int rows, float[] x, float[] weight, int inputs, int outputs, float[] bias,
                                   Activation act) {
        double[] y = new double[rows * outputs];
        double[] acc = new double[outputs];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < outputs; c++) {
                acc[c] = bias == null ? 0 : bias[c];
            }
            for (int p = 0; p < inputs; p++) {
                double xv = x[r * inputs + p];
                int w = p * outputs;
                for (int c = 0; c < outputs; c++) {
                    acc[c] += xv * weight[w + c];
                }
            }
            for (int c = 0; c < outputs; c++) {
                y[r * outputs + c] = act == null ? acc[c] : act.apply(acc[c]);
            }
        }
        return y;
    }

    /**
     * The self-attention of {@link DenseOps#selfAttention} in double: scores, the softmax (after subtracting the
     * largest score) and the weighted sum of the values.
     *
     * @return context [rows, heads·d] row-major, a new array
     */
    public static double[] selfAttention64(float[] qkv, int[] starts, int heads, int d, float divisor) {
        int width = heads * d;
        int stride = 3 * width;
        double[] context = new double[starts[starts.length - 1] * width];
        for (int s = 0; s + 1 < starts.length; s++) {
            int from = starts[s], n = starts[s + 1] - from;
            double[] p = new double[n];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    int q = (from + i) * stride + h * d;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        int k = (from + j) * stride + width + h * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) qkv[q + c] * qkv[k + c];
                        }
                        p[j] = dot / divisor;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    int o = (from + i) * width + h * d;
                    for (int j = 0; j < n; j++) {
                        int v = (from + j) * stride + 2 * width + h * d;
                        for (int c = 0; c < d; c++) {
                            context[o + c] += p[j] / sum * qkv[v + c];
                        }
                    }
                }
            }
        }
        return context;
    }

    @Override
    protected Dense denseImpl(String name, float[] weight, int inputs, int outputs, float[] bias,
                              Activation activation) {
        float[] w = weight.clone();
        float[] b = bias == null ? null : bias.clone();
        return new Dense(this, name, inputs, outputs) {
            @Override
            protected void applyImpl(int rows, float[] x, float[] y) {
                round(dense64(rows, x, w, inputs, outputs, b, activation), y);
            }
        };
    }

    @Override
    protected void selfAttentionImpl(float[] qkv, int[] starts, int heads, int d, float divisor, float[] context) {
        round(selfAttention64(qkv, starts, heads, d, divisor), context);
    }

    @Override
    protected void closeImpl() {
    }

    private static void round(double[] from, float[] to) {
        for (int i = 0; i < from.length; i++) {
            to[i] = (float) from[i];
        }
    }
}
