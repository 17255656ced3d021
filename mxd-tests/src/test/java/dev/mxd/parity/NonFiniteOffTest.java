package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * With {@code mxd.checkFinite} off (the default) a NaN or infinity is not looked for: it propagates through the
 * arithmetic of its own token, leaves the other tokens' results as they were, and crashes nothing (a NaN gate
 * score must not send top-K out of its table, for one).
 */
class NonFiniteOffTest {
    private static final MxdConfig CFG = MxdConfig.mxd(7, 9, 6, 5, 3, Activation.GELU, true, true);

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void nonFiniteInputsPropagateToTheirTokenOnly(Backend backend) {
        assertFalse(MxdLayer.CHECK_FINITE);
        try (Fixture f = new Fixture(CFG, 5, 9); MxdLayer layer = backend.load(f.model)) {
            MxdLayer.Output clean = layer.forward(f.x);
            int o = CFG.outputDim();
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] x = f.x.clone();
                Arrays.fill(x, 2 * CFG.inputDim(), 3 * CFG.inputDim(), bad);   // token 2
                MxdLayer.Output out = layer.forward(x);
                for (int t : new int[] {0, 1, 3, 4}) {
                    assertArrayEquals(Arrays.copyOfRange(clean.y(), t * o, (t + 1) * o),
                            Arrays.copyOfRange(out.y(), t * o, (t + 1) * o), bad + ": token " + t);
                }
                boolean propagated = false;
                for (int j = 2 * o; j < 3 * o; j++) {
                    propagated |= !Float.isFinite(out.y()[j]);
                }
                assertTrue(propagated, bad + " in token 2's input left its output finite");
                for (int j = 0; j < CFG.k(); j++) {
                    int index = out.codes().index(2, j);
                    assertTrue(index >= 0 && index < CFG.experts(), bad + ": code index " + index);
                }
            }
        }
    }
}
