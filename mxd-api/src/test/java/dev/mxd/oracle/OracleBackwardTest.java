package dev.mxd.oracle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.TrainingTestData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The oracle's gradients against central finite differences in float64, and the sparsity of the backward. */
class OracleBackwardTest {
    private static final int I = 5, H = 7, O = 3, N = 11, K = 3, T = 4;
    /** Inputs are accepted only when every kink and TopK boundary is farther than this from any value. */
    private static final double MARGIN = 1e-3;
    private static final double STEP = 1e-6;

    static Stream<Arguments> variants() {
        List<Arguments> v = new ArrayList<>();
        for (Activation a : Activation.values()) {
            for (boolean glu : new boolean[] {false, true}) {
                for (boolean skip : new boolean[] {false, true}) {
                    v.add(Arguments.of(MxdConfig.mxd(I, H, N, O, K, a, glu, skip)));
                }
                v.add(Arguments.of(MxdConfig.transcoder(I, H, O, K, a, glu)));
                v.add(Arguments.of(MxdConfig.skipTranscoder(I, H, O, K, a, glu)));
            }
        }
        return v.stream();
    }

    /** A batch and parameters of the config with no value near a kink or a TopK boundary. */
    record Case(Map<String, double[]> params, float[] x, float[] t) {
    }

    static Case wellSeparated(MxdConfig cfg) {
        for (long seed = 1; seed < 10_000; seed++) {
            Case c = randomCase(cfg, seed);
            if (separated(cfg, c)) {
                return c;
            }
        }
        throw new AssertionError("no well-separated case found for " + cfg);
    }

    static Case randomCase(MxdConfig cfg, long seed) {
        Map<String, double[]> p;
        try (MxdModel m = MxdModel.random(cfg, seed)) {
            p = OracleBackward.parameters(m);
        }
        float[][] batch = TrainingTestData.batch(cfg, T, seed * 31 + 7);
        return new Case(p, batch[0], batch[1]);
    }

    /** Recomputes the forward pass independently enough to see the kinks: pre-activations, gates, codes. */
    static boolean separated(MxdConfig cfg, Case c) {
        double[] wEnc = c.params.get("W_enc"), bEnc = c.params.get("b_enc");
        for (int t = 0; t < T; t++) {
            double[] z = new double[H];
            for (int j = 0; j < H; j++) {
                double h = bEnc[j];
                for (int i = 0; i < I; i++) {
                    h += c.x[t * I + i] * wEnc[i * H + j];
                }
                if (cfg.activation() == Activation.RELU && Math.abs(h) < MARGIN) {
                    return false;
                }
                z[j] = cfg.activation().apply(h);
                if (cfg.glu()) {
                    double u = c.params.get("W_glu.bias")[j];
                    for (int i = 0; i < I; i++) {
                        u += c.x[t * I + i] * c.params.get("W_glu.weight")[j * I + i];
                    }
                    z[j] *= u;
                }
            }
            double[] code = z;
            if (cfg.kind() == Kind.MXD) {
                code = new double[N];
                for (int n = 0; n < N; n++) {
                    double g = c.params.get("gate_bias")[n];
                    for (int i = 0; i < I; i++) {
                        g += c.x[t * I + i] * c.params.get("gate")[n * I + i];
                    }
                    if (Math.abs(g) < MARGIN) {
                        return false;
                    }
                    code[n] = Math.max(g, 0);
                }
            }
            double[] sorted = code.clone();
            Arrays.sort(sorted);
            double kth = sorted[sorted.length - K], next = sorted[sorted.length - K - 1];
            boolean bothZero = kth == 0 && next == 0;
            if (!bothZero && kth - next < MARGIN) {
                return false;
            }
        }
        return true;
    }

    @ParameterizedTest
    @MethodSource("variants")
    void gradientsMatchCentralDifferences(MxdConfig cfg) {
        Case c = wellSeparated(cfg);
        OracleBackward.Pass pass = new OracleBackward(cfg, c.params).run(c.x, c.t, T);
        assertEquals(new OracleBackward(cfg, c.params).loss(c.x, c.t, T), pass.loss(), 0.0);
        assertEquals(cfg.trainableTensorNames(), List.copyOf(pass.gradients().keySet()));
        for (String name : cfg.trainableTensorNames()) {
            double[] analytic = pass.gradients().get(name);
            double[] p = c.params.get(name);
            double scale = 0;
            for (double g : analytic) {
                scale = Math.max(scale, Math.abs(g));
            }
            assertTrue(scale > 0,
                    name + " of " + cfg + " has an all-zero gradient: the check would prove nothing");
            for (int e = 0; e < p.length; e++) {
                double keep = p[e];
                p[e] = keep + STEP;
                double up = new OracleBackward(cfg, c.params).loss(c.x, c.t, T);
                p[e] = keep - STEP;
                double down = new OracleBackward(cfg, c.params).loss(c.x, c.t, T);
                p[e] = keep;
                double numeric = (up - down) / (2 * STEP);
                int at = e;
                assertEquals(numeric, analytic[e], 1e-8 + 1e-6 * scale,
                        () -> name + "[" + at + "] of " + cfg + ": finite difference vs backward");
            }
        }
    }

    @Test
    void lossAndOutputsAreTheOraclesForwardPass() {
        for (MxdConfig cfg : List.of(MxdConfig.mxd(I, H, N, O, K, Activation.GELU, true, true),
                MxdConfig.transcoder(I, H, O, K, Activation.RELU, false),
                MxdConfig.skipTranscoder(I, H, O, K, Activation.SILU, true))) {
            try (MxdModel m = MxdModel.random(cfg, 5)) {
                Case c = randomCase(cfg, 5);
                OracleBackward.Pass pass = OracleBackward.of(m).run(c.x, c.t, T);
                OracleMxd.Result fwd = new OracleMxd(m).forward(c.x, T);
                assertArrayEquals(fwd.y(), pass.y(), 1e-12);
                assertArrayEquals(fwd.codes().index(), pass.codes().index());
                double expected = 0;
                for (int t = 0; t < T; t++) {
                    double norm = 0;
                    for (int o = 0; o < O; o++) {
                        norm += c.t[t * O + o] * (double) c.t[t * O + o];
                    }
                    for (int o = 0; o < O; o++) {
                        double d = fwd.y()[t * O + o] - c.t[t * O + o];
                        expected += d * d / Math.sqrt(norm) / (T * O);
                    }
                }
                assertEquals(expected, pass.loss(), 1e-12);
            }
        }
    }

    @Test
    void onlySelectedExpertsReceiveGradient() {
        MxdConfig cfg = MxdConfig.mxd(6, 5, 64, 4, 2, Activation.GELU, true, true);
        try (MxdModel m = MxdModel.random(cfg, 11)) {
            Case c = randomCase(cfg, 11);
            OracleBackward.Pass pass = OracleBackward.of(m).run(c.x, c.t, T);
            Set<Integer> firing = new HashSet<>();
            Set<Integer> selected = new HashSet<>();
            for (int e = 0; e < pass.codes().index().length; e++) {
                selected.add(pass.codes().index()[e]);
                if (pass.codes().value()[e] > 0) {
                    firing.add(pass.codes().index()[e]);
                }
            }
            assertTrue(selected.size() < 64 / 4, "the test needs most experts unselected");
            assertTrue(!firing.isEmpty());
            double[] gate = pass.gradients().get("gate"), bias = pass.gradients().get("gate_bias");
            double[] cond = pass.gradients().get("W_cond");
            for (int n = 0; n < 64; n++) {
                boolean nonZero = bias[n] != 0;
                for (int i = 0; i < 6; i++) {
                    nonZero |= gate[n * 6 + i] != 0;
                }
                for (int o = 0; o < 4; o++) {
                    nonZero |= cond[o * 64 + n] != 0;
                }
                assertEquals(firing.contains(n), nonZero, "expert " + n + ": gradient where it did not fire, or none where it did");
            }
        }
    }

    @Test
    void transcoderGradientTouchesOnlySelectedUnits() {
        MxdConfig cfg = MxdConfig.transcoder(6, 40, 4, 2, Activation.GELU_TANH, false);
        try (MxdModel m = MxdModel.random(cfg, 3)) {
            Case c = randomCase(cfg, 3);
            OracleBackward.Pass pass = OracleBackward.of(m).run(Arrays.copyOf(c.x, 2 * 6), Arrays.copyOf(c.t, 2 * 4), 2);
            Set<Integer> selected = new HashSet<>();
            for (int e = 0; e < 2 * 2; e++) {
                selected.add(pass.codes().index()[e]);
            }
            double[] enc = pass.gradients().get("W_enc"), dec = pass.gradients().get("W_dec");
            for (int j = 0; j < 40; j++) {
                boolean nonZero = pass.gradients().get("b_enc")[j] != 0;
                for (int i = 0; i < 6; i++) {
                    nonZero |= enc[i * 40 + j] != 0;
                }
                for (int o = 0; o < 4; o++) {
                    nonZero |= dec[j * 4 + o] != 0;
                }
                assertEquals(selected.contains(j), nonZero, "hidden unit " + j);
            }
        }
    }

    @Test
    void zeroNormTargetRowIsRejectedByRow() {
        MxdConfig cfg = MxdConfig.mxd(I, H, N, O, K, Activation.RELU, false, false);
        Case c = randomCase(cfg, 1);
        Arrays.fill(c.t, 2 * O, 3 * O, 0f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OracleBackward(cfg, c.params).run(c.x, c.t, T));
        assertTrue(e.getMessage().contains("target row 2"), e.getMessage());
    }

    @Test
    void missingOrMisshapenParametersAreNamed() {
        MxdConfig cfg = MxdConfig.mxd(I, H, N, O, K, Activation.RELU, false, false);
        Map<String, double[]> p = new LinkedHashMap<>(randomCase(cfg, 1).params);
        p.put("gate", new double[3]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new OracleBackward(cfg, p));
        assertTrue(e.getMessage().contains("'gate'") && e.getMessage().contains("55"), e.getMessage());
        p.remove("gate");
        assertThrows(IllegalArgumentException.class, () -> new OracleBackward(cfg, p));
    }

    @Test
    void activationDerivativesMatchDifferences() {
        for (Activation a : Activation.values()) {
            for (double x : new double[] {-3.1, -0.7, -0.01, 0.02, 0.4, 1.3, 4.2}) {
                double numeric = (a.apply(x + 1e-6) - a.apply(x - 1e-6)) / 2e-6;
                assertEquals(numeric, a.derivative(x), 1e-8, a + " at " + x);
            }
        }
        assertEquals(0.0, Activation.RELU.derivative(0.0));
        assertNotEquals(Activation.GELU.derivative(1.0), Activation.GELU_TANH.derivative(1.0));
    }
}
