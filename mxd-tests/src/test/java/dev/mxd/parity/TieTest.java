package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exact ties go to the lower index (DESIGN §1). Tied scores come from bitwise identical weight rows, so every
 * implementation computes bitwise identical values for them and the selected indices must match exactly.
 */
class TieTest {
    /** Experts (or hidden units) sharing one weight row and bias; deliberately not in index order. */
    private static final int[] TIED = {31, 7, 12, 3, 30};

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void mxdGateTiesGoToTheLowerIndex(Backend backend) {
        // I = 5, N = 40: the tied experts get a large shared row and bias, so they are the top 5 of every token
        MxdConfig cfg = MxdConfig.mxd(5, 4, 40, 3, 3, Activation.RELU, false, false);
        MxdModel model = MxdModel.random(cfg, 7);
        tieRows(model.tensor("gate").data(), model.tensor("gate_bias").data(), cfg.inputDim());
        try (Fixture f = new Fixture(model, 9, 7); MxdLayer layer = backend.load(f.model)) {
            Codes codes = layer.forward(f.x).codes();
            for (int t = 0; t < f.tokens; t++) {
                assertArrayEquals(new int[] {3, 7, 12}, row(codes, t), "token " + t);
                assertEquals(codes.value(t, 0), codes.value(t, 2), "tied values");
            }
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void allZeroGatesSelectTheFirstExperts(Backend backend) {
        // gate = 0 and gate_bias < 0: relu(g) = 0 everywhere, so the codes are experts 0..K-1 with value 0
        MxdConfig cfg = MxdConfig.mxd(3, 2, 17, 2, 17, Activation.GELU, false, true);
        MxdModel model = MxdModel.random(cfg, 8);
        model.tensor("gate").data().fill((byte) 0);
        MemorySegment bias = model.tensor("gate_bias").data();
        for (int n = 0; n < cfg.experts(); n++) {
            bias.setAtIndex(Tensor.F32_LE, n, -1f - n);
        }
        try (Fixture f = new Fixture(model, 7, 8); MxdLayer layer = backend.load(f.model)) {
            Codes codes = layer.forward(f.x).codes();
            int[] expected = new int[cfg.k()];
            for (int j = 0; j < expected.length; j++) {
                expected[j] = j;
            }
            for (int t = 0; t < f.tokens; t++) {
                assertArrayEquals(expected, row(codes, t), "token " + t);
                for (int j = 0; j < cfg.k(); j++) {
                    assertEquals(0f, codes.value(t, j), "value of slot " + j);
                }
            }
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void transcoderTiesGoToTheLowerIndex(Backend backend) {
        // hidden units share a W_enc column: z ties; SILU keeps the large shared pre-activation on top
        MxdConfig cfg = MxdConfig.skipTranscoder(6, 40, 5, 4, Activation.SILU, false);
        MxdModel model = MxdModel.random(cfg, 9);
        tieColumns(model.tensor("W_enc").data(), model.tensor("b_enc").data(), cfg.inputDim(), cfg.hiddenDim());
        try (Fixture f = new Fixture(model, 9, 9); MxdLayer layer = backend.load(f.model)) {
            Codes codes = layer.forward(f.x).codes();
            for (int t = 0; t < f.tokens; t++) {
                assertArrayEquals(new int[] {3, 7, 12, 30}, row(codes, t), "token " + t);
            }
        }
    }

    /** Rows TIED of a [rows, width] table get one shared row (all 1) and bias 50, far above the others. */
    private static void tieRows(MemorySegment table, MemorySegment bias, int width) {
        for (int n : TIED) {
            for (int i = 0; i < width; i++) {
                table.setAtIndex(Tensor.F32_LE, (long) n * width + i, 1f);
            }
            bias.setAtIndex(Tensor.F32_LE, n, 50f);
        }
    }

    /** Columns TIED of W_enc [I, H] become one shared column; with b_enc 50 their z tops every token. */
    private static void tieColumns(MemorySegment wEnc, MemorySegment bEnc, int inDim, int hidden) {
        for (int h : TIED) {
            for (int i = 0; i < inDim; i++) {
                wEnc.setAtIndex(Tensor.F32_LE, (long) i * hidden + h, 0.25f);
            }
            bEnc.setAtIndex(Tensor.F32_LE, h, 50f);
        }
    }

    private static int[] row(Codes codes, int t) {
        int[] r = new int[codes.width()];
        for (int j = 0; j < r.length; j++) {
            r[j] = codes.index(t, j);
        }
        return r;
    }
}
