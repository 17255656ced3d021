package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Non-finite inputs are rejected with their position under {@code -Dmxd.checkFinite=true}. The Maven build runs
 * this class alone in a JVM with that property (it is read once, at class initialisation).
 */
class CheckFiniteTest {
    private static final MxdConfig CFG = MxdConfig.transcoder(7, 9, 5, 3, Activation.GELU, false);

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @Test
    void propertyIsOnInThisJvm() {
        assertTrue(MxdLayer.CHECK_FINITE, "run this class with -Dmxd.checkFinite=true");
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void nonFiniteInputIsRejectedWithItsPosition(Backend backend) {
        try (Fixture f = new Fixture(CFG, 4, 6); MxdLayer layer = backend.load(f.model)) {
            float[] x = f.x.clone();
            x[2 * CFG.inputDim() + 5] = Float.NaN;
            var e = assertThrows(IllegalArgumentException.class, () -> layer.forward(x));
            assertTrue(e.getMessage().contains("token 2, column 5"), e.getMessage());
            x[2 * CFG.inputDim() + 5] = Float.NEGATIVE_INFINITY;
            assertThrows(IllegalArgumentException.class, () -> layer.encode(x));
            var codes = layer.encode(f.x);
            codes.set(3, 1, codes.index(3, 1), Float.POSITIVE_INFINITY);
            var e2 = assertThrows(IllegalArgumentException.class, () -> layer.decode(f.x, codes));
            assertTrue(e2.getMessage().contains("token 3, slot 1"), e2.getMessage());
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void nonFiniteWeightIsRejectedAtLoadWithItsPosition(Backend backend) {
        try (Fixture f = new Fixture(CFG, 4, 6)) {
            String name = f.model.tensors().keySet().iterator().next();
            var w = f.model.tensor(name);
            long cols = w.shape()[w.shape().length - 1];
            w.data().setAtIndex(dev.mxd.tensor.Tensor.F32_LE, 2 * cols + 1, Float.POSITIVE_INFINITY);
            var e = assertThrows(IllegalArgumentException.class, () -> backend.load(f.model).close());
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("row 2, column 1")
                    && e.getMessage().contains("Infinity"), e.getMessage());
        }
    }
}
