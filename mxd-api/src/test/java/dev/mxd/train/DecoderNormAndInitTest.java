package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class DecoderNormAndInitTest {

    private static double get(MxdModel m, String name, long i) {
        return m.tensor(name).data().getAtIndex(Tensor.F32_LE, i);
    }

    private static double maxAbs(MxdModel m, String name) {
        Tensor t = m.tensor(name);
        double max = 0;
        for (long i = 0; i < t.elementCount(); i++) {
            max = Math.max(max, Math.abs(t.data().getAtIndex(Tensor.F32_LE, i)));
        }
        return max;
    }

    @Test
    void mxdInitIsTheReferences() {
        MxdConfig cfg = MxdConfig.mxd(49, 30, 200, 17, 4, Activation.RELU, true, true);
        try (MxdModel m = ReferenceInit.create(cfg, true, 1)) {
            double bound = 1 / Math.sqrt(49);
            for (String name : new String[] {"W_enc", "gate", "W_glu.weight", "W_glu.bias"}) {
                double max = maxAbs(m, name);
                assertTrue(max <= bound && max > 0.9 * bound, name + " max " + max + " vs bound " + bound);
            }
            for (String name : new String[] {"W_dec", "W_skip.weight", "b_enc", "gate_bias", "b_dec_out", "b_dec"}) {
                assertEquals(0.0, maxAbs(m, name), name);
            }
            for (int n = 0; n < 200; n++) {
                double s = 0;
                for (int o = 0; o < 17; o++) {
                    s += get(m, "W_cond", (long) o * 200 + n) * get(m, "W_cond", (long) o * 200 + n);
                }
                assertEquals(1.0, Math.sqrt(s), 1e-6, "row " + n + " of C");
            }
        }
        try (MxdModel m = ReferenceInit.create(cfg, false, 1)) {
            double b = 1 / Math.sqrt(200);
            assertTrue(maxAbs(m, "W_cond") <= b && maxAbs(m, "W_cond") > 0.9 * b);
        }
    }

    @Test
    void transcoderInits() {
        MxdConfig tc = MxdConfig.transcoder(9, 64, 11, 3, Activation.GELU, false);
        try (MxdModel m = ReferenceInit.create(tc, true, 2)) {
            for (int h = 0; h < 64; h++) {
                double s = 0;
                for (int o = 0; o < 11; o++) {
                    s += get(m, "W_dec", (long) h * 11 + o) * get(m, "W_dec", (long) h * 11 + o);
                }
                assertEquals(1.0, Math.sqrt(s), 1e-6);
            }
        }
        try (MxdModel m = ReferenceInit.create(tc, false, 2)) {
            double b = 1 / Math.sqrt(64);
            assertTrue(maxAbs(m, "W_dec") <= b && maxAbs(m, "W_dec") > 0.9 * b);
        }
        MxdConfig stc = MxdConfig.skipTranscoder(9, 64, 11, 3, Activation.GELU, false);
        try (MxdModel m = ReferenceInit.create(stc, false, 2)) {
            assertEquals(0.0, maxAbs(m, "W_dec"));
            assertEquals(0.0, maxAbs(m, "W_skip.weight"));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReferenceInit.create(stc, true, 2));
        assertTrue(e.getMessage().contains("STC"));
        assertEquals(false, DecoderNorm.referenceDefault(stc.kind()));
    }

    @Test
    void projectionRemovesTheParallelComponentAndKeepsZeroRows() {
        MxdConfig cfg = MxdConfig.mxd(3, 4, 6, 5, 2, Activation.RELU, false, false);
        try (MxdModel m = MxdModel.random(cfg, 3); ParameterTensors g = ParameterTensors.zeros(cfg)) {
            DecoderNorm.normalise(m);
            MemorySegment grad = g.tensor("W_cond").data();
            for (int o = 0; o < 5; o++) {
                for (int n = 0; n < 6; n += 2) {   // odd experts: no gradient
                    grad.setAtIndex(Tensor.F32_LE, (long) o * 6 + n, (float) (o - 2 + 0.3 * n));
                }
            }
            DecoderNorm.removeParallelGradient(m, g);
            for (int n = 0; n < 6; n++) {
                double dot = 0, norm = 0;
                for (int o = 0; o < 5; o++) {
                    double c = get(m, "W_cond", (long) o * 6 + n);
                    double gv = grad.getAtIndex(Tensor.F32_LE, (long) o * 6 + n);
                    dot += c * gv;
                    norm += gv * gv;
                    if (n % 2 == 1) {
                        assertEquals(0.0, gv);
                    }
                }
                assertEquals(0.0, dot, 1e-6, "expert " + n);
                if (n % 2 == 0) {
                    assertTrue(norm > 0.1);
                }
            }
        }
    }

    @Test
    void aZeroDecoderRowIsNamed() {
        MxdConfig cfg = MxdConfig.transcoder(3, 4, 5, 2, Activation.RELU, false);
        try (MxdModel m = MxdModel.random(cfg, 3)) {
            m.tensor("W_dec").data().asSlice(2L * 5 * 4, 5 * 4).fill((byte) 0);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> DecoderNorm.normalise(m));
            assertTrue(e.getMessage().contains("row 2 of W_dec"), e.getMessage());
        }
    }
}
