package dev.mxd.parity;

import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleMxd;
import java.util.SplittableRandom;

/** A model with seeded random weights, seeded N(0, 1) inputs, and the oracle over the same weights. */
final class Fixture implements AutoCloseable {
    final MxdConfig cfg;
    final int tokens;
    final MxdModel model;
    final float[] x;
    final OracleMxd oracle;

    Fixture(MxdConfig cfg, int tokens, long seed) {
        this(MxdModel.random(cfg, seed), tokens, seed);
    }

    /** Takes ownership of {@code model}. */
    Fixture(MxdModel model, int tokens, long seed) {
        this.cfg = model.config();
        this.tokens = tokens;
        this.model = model;
        this.x = gaussian(tokens * cfg.inputDim(), seed + 1);
        this.oracle = new OracleMxd(model);
    }

    /** The oracle's scores per token: relu(x·gateᵀ + gate_bias) for an MxD, z for a TC or STC. */
    double[][] scores() {
        double[][] s = new double[tokens][];
        for (int t = 0; t < tokens; t++) {
            if (cfg.kind() == Kind.MXD) {
                s[t] = oracle.gates(x, t);
                for (int n = 0; n < s[t].length; n++) {
                    s[t][n] = Math.max(s[t][n], 0.0);
                }
            } else {
                s[t] = oracle.hiddenCode(x, t);
            }
        }
        return s;
    }

    static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // Box–Muller, so the values do not depend on a JDK's nextGaussian algorithm
            double u = 1 - r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble()));
        }
        return v;
    }

    @Override
    public void close() {
        model.close();
    }

    /** The highest code in [0, space) that token {@code t}'s codes do not select, or -1 when they select them all. */
    static int outsideTopK(Codes codes, int t, int space) {
        for (int n = space - 1; n >= 0; n--) {
            boolean used = false;
            for (int j = 0; j < codes.width(); j++) {
                used |= codes.index(t, j) == n;
            }
            if (!used) {
                return n;
            }
        }
        return -1;
    }
}
