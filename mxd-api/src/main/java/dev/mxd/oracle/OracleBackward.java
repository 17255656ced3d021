package dev.mxd.oracle;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.Metrics;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The float64 oracle of training: the forward pass of DESIGN §1 kept with its intermediates, the reference's
 * normalised loss (DESIGN §2) and the gradient of that loss with respect to every trainable parameter, one
 * token at a time, in double precision. Backends' backward passes are tested against it, so it is plain
 * rather than fast.
 *
 * <p>Per token row x (length I) and target t (length O), with TopK a fixed selection (as autograd treats it):
 * <pre>
 * forward                                   backward (dy = ∂L/∂y)
 * h = x·W_enc + b_enc                       dy     = 2(y − t) / (‖t‖·T·O)
 * u = x·W_gluᵀ + b_glu          (GLU)       db_dec_out += dy;  dW_skip += dyᵀx       (skip)
 * z = act(h) ⊙ u                            MxD: dbase = dy ⊙ m;  dm = dy ⊙ base
 * MxD: base = z·W_dec                            for each selected expert n (value aₙ = relu(gₙ)):
 *      g = x·gateᵀ + gate_bias                     dC[n] += aₙ·dm;  daₙ = dm·C[n]
 *      a = TopK_K(relu(g))                         dgₙ = daₙ·[gₙ &gt; 0];  dgate[n] += dgₙ·x;  dgate_bias[n] += dgₙ
 *      m = Σₙ aₙ·C[n]                            dW_dec += zᵀ·dbase;  dz = dbase·W_decᵀ
 *      y = base ⊙ m + skip + b_dec_out      TC:  for each selected unit j: dzⱼ = dy·W_dec[j];  dW_dec[j] += zⱼ·dy
 * TC:  a = TopK_K(z)                        dact = dz ⊙ u (GLU: du = dz ⊙ act(h), dW_glu += duᵀx, db_glu += du)
 *      y = Σⱼ zⱼ·W_dec[j] + skip + b        dh = dact ⊙ act'(h);  dW_enc += xᵀ·dh;  db_enc += dh
 * L = 1/(T·O) · Σ_t Σ_o (y − t)² / ‖t‖
 * </pre>
 * Sparsity follows the forward pass: per token only the K selected experts' rows of {@code gate},
 * {@code gate_bias} and C (columns of {@code W_cond}) are touched, and for a TC only the K selected hidden
 * units' columns of {@code W_enc} and rows of {@code W_dec}; everything else stays exactly zero.
 *
 * <p>Parameters are {@code double[]} in the row-major layouts of DESIGN §1 under the reference's names
 * ({@link MxdConfig#trainableTensorNames}); this object copies them, so the caller may change its arrays afterwards.
 */
public final class OracleBackward {
    private final MxdConfig cfg;
    private final int inDim, hidden, outDim, experts, k;
    private final Activation act;
    private final double[] wEnc, bEnc, wGlu, bGlu, wDec, gate, gateBias, wCond, wSkip, bDecOut;

    /** One forward + backward: the loss, the outputs [T, O], the codes and a gradient per trainable tensor. */
    public record Pass(double loss, double[] y, OracleMxd.Codes64 codes, Map<String, double[]> gradients) {
    }

    /**
     * @param params every trainable tensor of {@code cfg} (see {@link MxdConfig#trainableTensorNames}), row-major; extra
     *               entries (such as {@code b_dec}) are ignored
     * @throws IllegalArgumentException naming a missing tensor or one of the wrong length
     */
    public OracleBackward(MxdConfig cfg, Map<String, double[]> params) {
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        inDim = cfg.inputDim();
        hidden = cfg.hiddenDim();
        outDim = cfg.outputDim();
        experts = cfg.experts();
        k = cfg.k();
        act = cfg.activation();
        Map<String, long[]> shapes = cfg.tensorShapes();
        for (String name : cfg.trainableTensorNames()) {
            double[] p = params.get(name);
            long expected = Tensor.elementCount(shapes.get(name));
            if (p == null || p.length != expected) {
                throw new IllegalArgumentException("parameter '" + name + "' needs " + expected + " values (shape "
                        + Arrays.toString(shapes.get(name)) + "), got " + (p == null ? "none" : p.length));
            }
        }
        wEnc = copy(params, "W_enc");
        bEnc = copy(params, "b_enc");
        wGlu = cfg.glu() ? copy(params, "W_glu.weight") : null;
        bGlu = cfg.glu() ? copy(params, "W_glu.bias") : null;
        wDec = copy(params, "W_dec");
        boolean mxd = cfg.kind() == Kind.MXD;
        gate = mxd ? copy(params, "gate") : null;
        gateBias = mxd ? copy(params, "gate_bias") : null;
        wCond = mxd ? copy(params, "W_cond") : null;
        wSkip = cfg.skip() ? copy(params, "W_skip.weight") : null;
        bDecOut = copy(params, "b_dec_out");
    }

    /** The oracle over a model's float32 weights, widened to double. */
    public static OracleBackward of(MxdModel model) {
        return new OracleBackward(model.config(), parameters(model));
    }

    /** The trainable tensors of a model widened to double, by name (every tensor of the config but b_dec). */
    public static Map<String, double[]> parameters(MxdModel model) {
        Map<String, double[]> m = new LinkedHashMap<>();
        for (String name : model.config().trainableTensorNames()) {
            Tensor t = model.tensor(name);
            double[] d = new double[Math.toIntExact(t.elementCount())];
            for (int i = 0; i < d.length; i++) {
                d[i] = t.data().getAtIndex(Tensor.F32_LE, i);
            }
            m.put(name, d);
        }
        return m;
    }


    /**
     * Forward and backward over a batch.
     *
     * @param x      inputs [T, I], row-major
     * @param target targets [T, O], row-major; no row may have zero norm
     * @throws IllegalArgumentException for arrays of the wrong length or a zero-norm (or non-finite norm)
     *                                  target row, naming the row
     */
    public Pass run(float[] x, float[] target, int tokens) {
        if (tokens < 1 || x.length != (long) tokens * inDim || target.length != (long) tokens * outDim) {
            throw new IllegalArgumentException("a batch of " + tokens + " tokens needs x [" + tokens + ", " + inDim
                    + "] and t [" + tokens + ", " + outDim + "], got " + x.length + " and " + target.length + " values");
        }
        Map<String, double[]> grad = new LinkedHashMap<>();
        for (String name : cfg.trainableTensorNames()) {
            grad.put(name, new double[Math.toIntExact(Tensor.elementCount(cfg.tensorShapes().get(name)))]);
        }
        double[] y = new double[tokens * outDim];
        int[] codeIndex = new int[tokens * k];
        double[] codeValue = new double[tokens * k];
        double loss = 0;
        double scale = 1.0 / ((double) tokens * outDim);
        for (int t = 0; t < tokens; t++) {
            double[] xt = row(x, t, inDim);
            double[] tt = row(target, t, outDim);
            double norm = Metrics.targetNorm(tt, t);
            Token tok = forward(xt);
            double[] dy = new double[outDim];
            for (int o = 0; o < outDim; o++) {
                double r = tok.y[o] - tt[o];
                loss += r * r / norm;
                dy[o] = 2 * r / norm * scale;
                y[t * outDim + o] = tok.y[o];
            }
            for (int j = 0; j < k; j++) {
                codeIndex[t * k + j] = tok.selected[j];
                codeValue[t * k + j] = tok.code[tok.selected[j]];
            }
            backward(xt, tok, dy, grad);
        }
        return new Pass(loss * scale, y, new OracleMxd.Codes64(tokens, k, codeIndex, codeValue), grad);
    }

    /** The loss alone (for finite differences), the same arithmetic as {@link #run}. */
    public double loss(float[] x, float[] target, int tokens) {
        double loss = 0;
        for (int t = 0; t < tokens; t++) {
            double[] xt = row(x, t, inDim);
            double[] tt = row(target, t, outDim);
            double norm = Metrics.targetNorm(tt, t);
            Token tok = forward(xt);
            for (int o = 0; o < outDim; o++) {
                double r = tok.y[o] - tt[o];
                loss += r * r / norm;
            }
        }
        return loss * (1.0 / ((double) tokens * outDim));
    }

    /** What the backward pass needs of one token's forward pass. */
    private record Token(double[] h, double[] u, double[] z, double[] base, double[] g, double[] m,
                         double[] code, int[] selected, double[] y) {
    }

    private Token forward(double[] x) {
        double[] h = new double[hidden];
        double[] u = cfg.glu() ? new double[hidden] : null;
        double[] z = new double[hidden];
        for (int j = 0; j < hidden; j++) {
            double acc = bEnc[j];
            for (int i = 0; i < inDim; i++) {
                acc += x[i] * wEnc[i * hidden + j];
            }
            h[j] = acc;
            z[j] = act.apply(acc);
            if (u != null) {
                double g = bGlu[j];
                for (int i = 0; i < inDim; i++) {
                    g += x[i] * wGlu[j * inDim + i];
                }
                u[j] = g;
                z[j] *= g;
            }
        }
        double[] y = new double[outDim];
        double[] base = null, g = null, m = null, code;
        int[] selected;
        if (cfg.kind() == Kind.MXD) {
            base = new double[outDim];
            for (int o = 0; o < outDim; o++) {
                double acc = 0;
                for (int j = 0; j < hidden; j++) {
                    acc += z[j] * wDec[j * outDim + o];
                }
                base[o] = acc;
            }
            g = new double[experts];
            code = new double[experts];
            for (int n = 0; n < experts; n++) {
                double acc = gateBias[n];
                for (int i = 0; i < inDim; i++) {
                    acc += x[i] * gate[n * inDim + i];
                }
                g[n] = acc;
                code[n] = Activation.RELU.apply(acc);
            }
            selected = OracleMxd.topK(code, k);
            m = new double[outDim];
            for (int n : selected) {
                for (int o = 0; o < outDim; o++) {
                    m[o] += code[n] * wCond[o * experts + n];
                }
            }
            for (int o = 0; o < outDim; o++) {
                y[o] = base[o] * m[o];
            }
        } else {
            code = z;
            selected = OracleMxd.topK(z, k);
            for (int j : selected) {
                for (int o = 0; o < outDim; o++) {
                    y[o] += z[j] * wDec[j * outDim + o];
                }
            }
        }
        for (int o = 0; o < outDim; o++) {
            if (wSkip != null) {
                for (int i = 0; i < inDim; i++) {
                    y[o] += x[i] * wSkip[o * inDim + i];
                }
            }
            y[o] += bDecOut[o];
        }
        return new Token(h, u, z, base, g, m, code, selected, y);
    }

    private void backward(double[] x, Token tok, double[] dy, Map<String, double[]> grad) {
        double[] dBDecOut = grad.get("b_dec_out");
        for (int o = 0; o < outDim; o++) {
            dBDecOut[o] += dy[o];
        }
        if (wSkip != null) {
            double[] dSkip = grad.get("W_skip.weight");
            for (int o = 0; o < outDim; o++) {
                for (int i = 0; i < inDim; i++) {
                    dSkip[o * inDim + i] += dy[o] * x[i];
                }
            }
        }
        double[] dWDec = grad.get("W_dec");
        double[] dz = new double[hidden];
        int[] touched;  // the hidden units whose dz may be non-zero
        if (cfg.kind() == Kind.MXD) {
            double[] dCond = grad.get("W_cond");
            double[] dGate = grad.get("gate");
            double[] dGateBias = grad.get("gate_bias");
            double[] dBase = new double[outDim];
            double[] dm = new double[outDim];
            for (int o = 0; o < outDim; o++) {
                dBase[o] = dy[o] * tok.m[o];
                dm[o] = dy[o] * tok.base[o];
            }
            for (int n : tok.selected) {
                double a = tok.code[n];
                double da = 0;
                for (int o = 0; o < outDim; o++) {
                    dCond[o * experts + n] += a * dm[o];
                    da += dm[o] * wCond[o * experts + n];
                }
                double dg = tok.g[n] > 0 ? da : 0.0;
                for (int i = 0; i < inDim; i++) {
                    dGate[n * inDim + i] += dg * x[i];
                }
                dGateBias[n] += dg;
            }
            for (int j = 0; j < hidden; j++) {
                double acc = 0;
                for (int o = 0; o < outDim; o++) {
                    dWDec[j * outDim + o] += tok.z[j] * dBase[o];
                    acc += dBase[o] * wDec[j * outDim + o];
                }
                dz[j] = acc;
            }
            touched = allUnits();
        } else {
            for (int j : tok.selected) {
                double acc = 0;
                for (int o = 0; o < outDim; o++) {
                    dWDec[j * outDim + o] += tok.z[j] * dy[o];
                    acc += dy[o] * wDec[j * outDim + o];
                }
                dz[j] = acc;
            }
            touched = tok.selected;
        }
        double[] dWEnc = grad.get("W_enc");
        double[] dBEnc = grad.get("b_enc");
        double[] dWGlu = cfg.glu() ? grad.get("W_glu.weight") : null;
        double[] dBGlu = cfg.glu() ? grad.get("W_glu.bias") : null;
        for (int j : touched) {
            double dAct = dz[j];
            if (tok.u != null) {
                double du = dz[j] * act.apply(tok.h[j]);
                dAct = dz[j] * tok.u[j];
                for (int i = 0; i < inDim; i++) {
                    dWGlu[j * inDim + i] += du * x[i];
                }
                dBGlu[j] += du;
            }
            double dh = dAct * act.derivative(tok.h[j]);
            for (int i = 0; i < inDim; i++) {
                dWEnc[i * hidden + j] += x[i] * dh;
            }
            dBEnc[j] += dh;
        }
    }

    private int[] allUnits() {
        int[] all = new int[hidden];
        Arrays.setAll(all, j -> j);
        return all;
    }


    public MxdConfig config() {
        return cfg;
    }

    private static double[] copy(Map<String, double[]> params, String name) {
        return params.get(name).clone();
    }

    /** Row {@code t} of a row-major float matrix of {@code width} columns, in double. */
    private static double[] row(float[] matrix, int t, int width) {
        double[] r = new double[width];
        for (int i = 0; i < width; i++) {
            r[i] = matrix[t * width + i];
        }
        return r;
    }
}
