package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad calls get a clear exception naming what is wrong (DESIGN §5), and leave the layer usable. */
class BadInputTest {
    private static final MxdConfig CFG = MxdConfig.mxd(17, 9, 20, 5, 3, Activation.RELU, false, true);

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void wrongInputWidth(Backend backend) {
        try (Fixture f = new Fixture(CFG, 3, 1); MxdLayer layer = backend.load(f.model)) {
            float[] x = new float[3 * 16];
            MemorySegment y = MemorySegment.ofArray(new float[3 * CFG.outputDim()]);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> layer.forward(MemorySegment.ofArray(x), 3, y, Codes.onHeap(3, CFG.k())));
            assertTrue(e.getMessage().contains("width 16") && e.getMessage().contains("I = 17"), e.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> layer.forward(new float[18]));
            assertTrue(e2.getMessage().contains("I = 17"), e2.getMessage());
            layer.forward(f.x);
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void zeroTokens(Backend backend) {
        try (Fixture f = new Fixture(CFG, 3, 2); MxdLayer layer = backend.load(f.model)) {
            MemorySegment empty = MemorySegment.ofArray(new float[0]);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> layer.forward(empty, 0, empty, Codes.onHeap(0, CFG.k())));
            assertTrue(e.getMessage().contains("tokens (T) = 0"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> layer.encode(new float[0]));
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void codeIndexOutOfRange(Backend backend) {
        try (Fixture f = new Fixture(CFG, 3, 3); MxdLayer layer = backend.load(f.model)) {
            Codes codes = Codes.onHeap(3, 2);
            codes.set(1, 1, CFG.experts(), 1f);
            var e = assertThrows(IllegalArgumentException.class, () -> layer.decode(f.x, codes));
            assertTrue(e.getMessage().contains("token 1, slot 1"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void closedLayer(Backend backend) {
        try (Fixture f = new Fixture(CFG, 3, 4)) {
            MxdLayer layer = backend.load(f.model);
            layer.close();
            layer.close();
            var e = assertThrows(IllegalStateException.class, () -> layer.forward(f.x));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> layer.encode(f.x));
            assertThrows(IllegalStateException.class, () -> layer.decode(f.x, Codes.onHeap(3, 1)));
        }
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void closedModel(Backend backend) {
        MxdModel model = MxdModel.random(CFG, 5);
        model.close();
        var e = assertThrows(IllegalStateException.class, () -> backend.load(model));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
