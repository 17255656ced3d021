package dev.mxd.oracle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Properties of the oracle that hold by construction of DESIGN §1, checked by independent arithmetic. */
class OracleMxdTest {

    private static float[] input(int tokens, int width, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[tokens * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Test
    void tiesGoToTheLowerIndex() {
        assertArrayEquals(new int[] {1, 3, 2}, OracleMxd.topK(new double[] {0, 2, 1, 2, 0}, 3));
        assertArrayEquals(new int[] {1, 3, 0}, OracleMxd.topK(new double[] {0, 2, 0, 2, 0}, 3));
        assertArrayEquals(new int[] {0, 1}, OracleMxd.topK(new double[] {0, 0, 0}, 2));
    }

    @Test
    void eachExpertIsAFullRankLinearMap() {
        // y = Σ_n a_n W_nᵀ z with W_n = D·diag(c_n): the Hadamard form must equal the per-expert sum.
        MxdConfig cfg = MxdConfig.mxd(4, 6, 9, 5, 3, Activation.GELU, false, false);
        try (MxdModel model = MxdModel.random(cfg, 7)) {
            OracleMxd oracle = new OracleMxd(model);
            float[] x = input(1, 4, 3);
            OracleMxd.Result r = oracle.forward(x, 1);
            double[] z = oracle.hiddenCode(x, 0);
            Tensor dec = model.tensor("W_dec");
            Tensor cond = model.tensor("W_cond");
            Tensor bias = model.tensor("b_dec_out");
            for (int o = 0; o < 5; o++) {
                double expected = bias.data().getAtIndex(Tensor.F32_LE, o);
                for (int j = 0; j < 3; j++) {
                    int n = r.codes().index()[j];
                    double a = r.codes().value()[j];
                    double c = cond.data().getAtIndex(Tensor.F32_LE, (long) o * 9 + n);
                    for (int h = 0; h < 6; h++) {
                        expected += a * z[h] * dec.data().getAtIndex(Tensor.F32_LE, (long) h * 5 + o) * c;
                    }
                }
                assertEquals(expected, r.y()[o], 1e-12);
            }
        }
    }

    @Test
    void codesAreRelUOfTheLargestGates() {
        MxdConfig cfg = MxdConfig.mxd(3, 4, 17, 2, 17, Activation.RELU, false, false);
        try (MxdModel model = MxdModel.random(cfg, 11)) {
            OracleMxd oracle = new OracleMxd(model);
            float[] x = input(2, 3, 5);
            OracleMxd.Codes64 codes = oracle.encode(x, 2);
            for (int t = 0; t < 2; t++) {
                double[] g = oracle.gates(x, t);
                for (int j = 0; j < 17; j++) {
                    int n = codes.index()[t * 17 + j];
                    assertEquals(Math.max(0, g[n]), codes.value()[t * 17 + j]);
                    if (j > 0) {
                        double prev = codes.value()[t * 17 + j - 1];
                        double cur = codes.value()[t * 17 + j];
                        boolean ordered = prev > cur || (prev == cur && codes.index()[t * 17 + j - 1] < n);
                        assertEquals(true, ordered, "codes sorted by value, ties by index");
                    }
                }
            }
        }
    }

    @Test
    void decodeWithZeroedAndForeignCodes() {
        MxdConfig cfg = MxdConfig.mxd(5, 7, 13, 5, 2, Activation.SILU, true, true);
        try (MxdModel model = MxdModel.random(cfg, 2)) {
            OracleMxd oracle = new OracleMxd(model);
            float[] x = input(1, 5, 9);
            OracleMxd.Codes64 codes = oracle.encode(x, 1);
            // Zeroing every code leaves only the skip and bias terms.
            double[] y0 = oracle.decode(x, 1, new OracleMxd.Codes64(1, 2, codes.index(), new double[2]));
            double[] yNone = oracle.decode(x, 1, new OracleMxd.Codes64(1, 0, new int[0], new double[0]));
            assertArrayEquals(yNone, y0, 0.0);
            // An expert outside the top K adds linearly: decode is linear in the code values.
            int outside = java.util.stream.IntStream.range(0, 13)
                    .filter(n -> n != codes.index()[0] && n != codes.index()[1]).findFirst().orElseThrow();
            double[] yOnly = oracle.decode(x, 1, new OracleMxd.Codes64(1, 1, new int[] {outside}, new double[] {100}));
            double[] yWith = oracle.decode(x, 1, new OracleMxd.Codes64(1, 3,
                    new int[] {codes.index()[0], codes.index()[1], outside}, new double[] {codes.value()[0], codes.value()[1], 100}));
            double[] yTop = oracle.decode(x, 1, codes);
            for (int o = 0; o < 5; o++) {
                assertEquals(yTop[o] + yOnly[o] - yNone[o], yWith[o], 1e-9 * Math.max(1, Math.abs(yWith[o])));
            }
        }
    }
}
