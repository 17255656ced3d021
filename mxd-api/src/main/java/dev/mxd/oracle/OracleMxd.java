package dev.mxd.oracle;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The float64 oracle: the forward pass of DESIGN §1 written line by line, one token at a time, in double
 * precision. Every backend is tested against it, so it is plain rather than fast. It copies the weights
 * to {@code double[]} on construction and does not use the model afterwards.
 *
 * <p>Per token row x (length I):
 * <pre>
 * h    = x · W_enc + b_enc
 * z    = act(h)                                  (⊙ (x · W_glu.weightᵀ + W_glu.bias) with GLU)
 * MxD: g = x · gateᵀ + gate_bias;  a = TopK_K(relu(g))
 *      y = (z · W_dec) ⊙ Σₖ a.valueₖ · C[a.indexₖ]  (+ x · W_skip.weightᵀ)  + b_dec_out
 * TC:  a = TopK_K(z);  y = Σₖ a.valueₖ · W_dec[a.indexₖ]  (+ x · W_skip.weightᵀ for STC)  + b_dec_out
 * </pre>
 * TopK: K pairs sorted by value descending, ties to the lower index.
 */
public final class OracleMxd {
    private final MxdConfig cfg;
    private final int inDim, hidden, outDim, experts;
    private final double[] wEnc;      // [I, H]
    private final double[] bEnc;      // [H]
    private final double[] wGlu;      // [H, I] or null
    private final double[] bGlu;      // [H] or null
    private final double[] wDec;      // [H, O]
    private final double[] gate;      // [N, I] or null
    private final double[] gateBias;  // [N] or null
    private final double[] wCond;     // [O, N] or null; C = W_condᵀ
    private final double[] wSkip;     // [O, I] or null
    private final double[] bDecOut;   // [O]

    /** Expert codes in double precision: {@code width} (index, value) pairs per token, row-major. */
    public record Codes64(int tokens, int width, int[] index, double[] value) {
        /** The codes of a backend, widened. */
        public static Codes64 of(Codes c) {
            int n = c.tokens() * c.width();
            int[] idx = new int[n];
            double[] val = new double[n];
            for (int t = 0; t < c.tokens(); t++) {
                for (int j = 0; j < c.width(); j++) {
                    idx[t * c.width() + j] = c.index(t, j);
                    val[t * c.width() + j] = c.value(t, j);
                }
            }
            return new Codes64(c.tokens(), c.width(), idx, val);
        }
    }

    /** A forward pass: y [T, O] row-major, and the codes that produced it. */
    public record Result(double[] y, Codes64 codes) {
    }

    public OracleMxd(MxdModel model) {
        cfg = model.config();
        inDim = cfg.inputDim();
        hidden = cfg.hiddenDim();
        outDim = cfg.outputDim();
        experts = cfg.experts();
        wEnc = load(model, "W_enc");
        bEnc = load(model, "b_enc");
        wGlu = cfg.glu() ? load(model, "W_glu.weight") : null;
        bGlu = cfg.glu() ? load(model, "W_glu.bias") : null;
        wDec = load(model, "W_dec");
        boolean mxd = cfg.kind() == Kind.MXD;
        gate = mxd ? load(model, "gate") : null;
        gateBias = mxd ? load(model, "gate_bias") : null;
        wCond = mxd ? load(model, "W_cond") : null;
        wSkip = cfg.skip() ? load(model, "W_skip.weight") : null;
        bDecOut = load(model, "b_dec_out");
    }

    public MxdConfig config() {
        return cfg;
    }

    /** The fused forward pass: {@code decode(x, encode(x))}. */
    public Result forward(float[] x, int tokens) {
        Codes64 codes = encode(x, tokens);
        return new Result(decode(x, tokens, codes), codes);
    }

    /** The K codes of each token: MxD experts by {@code relu(gate)}, TC/STC hidden units by z. */
    public Codes64 encode(float[] x, int tokens) {
        int k = cfg.k();
        int[] index = new int[tokens * k];
        double[] value = new double[tokens * k];
        for (int t = 0; t < tokens; t++) {
            double[] scores = cfg.kind() == Kind.MXD ? relu(gates(x, t)) : hiddenCode(x, t);
            int[] top = topK(scores, k);
            for (int j = 0; j < k; j++) {
                index[t * k + j] = top[j];
                value[t * k + j] = scores[top[j]];
            }
        }
        return new Codes64(tokens, k, index, value);
    }

    /** The output for caller-supplied codes of any width (steering may change them between the steps). */
    public double[] decode(float[] x, int tokens, Codes64 codes) {
        double[] y = new double[tokens * outDim];
        for (int t = 0; t < tokens; t++) {
            double[] row = cfg.kind() == Kind.MXD ? decodeMxd(x, t, codes) : decodeTranscoder(t, codes);
            for (int o = 0; o < outDim; o++) {
                row[o] += skip(x, t, o) + bDecOut[o];
            }
            System.arraycopy(row, 0, y, t * outDim, outDim);
        }
        return y;
    }

    /** z = act(x·W_enc + b_enc), times the GLU branch when present: [H] for token t. */
    public double[] hiddenCode(float[] x, int t) {
        double[] z = new double[hidden];
        for (int h = 0; h < hidden; h++) {
            double acc = bEnc[h];
            for (int i = 0; i < inDim; i++) {
                acc += x[t * inDim + i] * wEnc[i * hidden + h];
            }
            z[h] = cfg.activation().apply(acc);
            if (cfg.glu()) {
                double g = bGlu[h];
                for (int i = 0; i < inDim; i++) {
                    g += x[t * inDim + i] * wGlu[h * inDim + i];
                }
                z[h] *= g;
            }
        }
        return z;
    }

    /** g = x·gateᵀ + gate_bias: [N] for token t (before relu). */
    public double[] gates(float[] x, int t) {
        double[] g = new double[experts];
        for (int n = 0; n < experts; n++) {
            double acc = gateBias[n];
            for (int i = 0; i < inDim; i++) {
                acc += x[t * inDim + i] * gate[n * inDim + i];
            }
            g[n] = acc;
        }
        return g;
    }

    /** y − skip − b_dec_out of an MxD: (z·W_dec) ⊙ m with m = Σⱼ valueⱼ · C[indexⱼ], never dense over N. */
    private double[] decodeMxd(float[] x, int t, Codes64 codes) {
        double[] z = hiddenCode(x, t);
        double[] m = new double[outDim];
        for (int j = 0; j < codes.width(); j++) {
            int n = codes.index()[t * codes.width() + j];
            double a = codes.value()[t * codes.width() + j];
            for (int o = 0; o < outDim; o++) {
                m[o] += a * wCond[o * experts + n];
            }
        }
        double[] y = new double[outDim];
        for (int o = 0; o < outDim; o++) {
            double base = 0;
            for (int h = 0; h < hidden; h++) {
                base += z[h] * wDec[h * outDim + o];
            }
            y[o] = base * m[o];
        }
        return y;
    }

    /** y − skip − b_dec_out of a TC/STC: Σⱼ valueⱼ · W_dec[indexⱼ]. */
    private double[] decodeTranscoder(int t, Codes64 codes) {
        double[] y = new double[outDim];
        for (int j = 0; j < codes.width(); j++) {
            int h = codes.index()[t * codes.width() + j];
            double v = codes.value()[t * codes.width() + j];
            for (int o = 0; o < outDim; o++) {
                y[o] += v * wDec[h * outDim + o];
            }
        }
        return y;
    }

    private double skip(float[] x, int t, int o) {
        if (wSkip == null) {
            return 0;
        }
        double acc = 0;
        for (int i = 0; i < inDim; i++) {
            acc += x[t * inDim + i] * wSkip[o * inDim + i];
        }
        return acc;
    }

    private static double[] relu(double[] g) {
        double[] r = new double[g.length];
        for (int n = 0; n < g.length; n++) {
            r[n] = Activation.RELU.apply(g[n]);
        }
        return r;
    }

    /** The indices of the K largest scores, by value descending, ties to the lower index. */
    public static int[] topK(double[] scores, int k) {
        return IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(n -> -scores[n]).thenComparingInt(n -> n))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    private static double[] load(MxdModel model, String name) {
        Tensor t = model.tensor(name);
        double[] d = new double[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.data().getAtIndex(Tensor.F32_LE, i);
        }
        return d;
    }

    @Override
    public String toString() {
        return "OracleMxd" + Arrays.toString(new int[] {inDim, hidden, experts, outDim, cfg.k()});
    }
}
