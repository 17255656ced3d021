package dev.mxd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.oracle.OracleBackend;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The argument checks every backend inherits, exercised through the reference backend. */
class MxdLayerTest {
    private final MxdConfig config = MxdConfig.mxd(5, 7, 11, 3, 2, Activation.RELU, false, false);

    @Test
    void wrongInputWidthIsNamed() {
        try (MxdModel model = MxdModel.random(config, 1); MxdLayer layer = new OracleBackend().load(model)) {
            var e = assertThrows(IllegalArgumentException.class, () -> layer.forward(new float[4 * 3]));
            assertEquals("input x has 12 floats, not a multiple of the input width I = 5", e.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> layer.forward(MemorySegment.ofArray(new float[6 * 2]),
                    2, MemorySegment.ofArray(new float[2 * 3]), Codes.onHeap(2, 2)));
            assertEquals("input x [2, ?] has width 6 but this model's input width is I = 5 (40 bytes expected)", e2.getMessage());
        }
    }

    @Test
    void zeroTokensIsRejected() {
        try (MxdModel model = MxdModel.random(config, 1); MxdLayer layer = new OracleBackend().load(model)) {
            var e = assertThrows(IllegalArgumentException.class, () -> layer.forward(MemorySegment.ofArray(new float[0]), 0,
                    MemorySegment.ofArray(new float[0]), Codes.onHeap(0, 2)));
            assertEquals("tokens (T) = 0: a forward pass needs at least one token", e.getMessage());
        }
    }

    @Test
    void outputAndCodeShapesAreChecked() {
        try (MxdModel model = MxdModel.random(config, 1); MxdLayer layer = new OracleBackend().load(model)) {
            MemorySegment x = MemorySegment.ofArray(new float[2 * 5]);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> layer.forward(x, 2, MemorySegment.ofArray(new float[5]), Codes.onHeap(2, 2)));
            assertEquals("output y must be [2, 3] floats (24 bytes), got 20 bytes", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> layer.encode(x, 2, Codes.onHeap(2, 3)));
            assertEquals("codes have width 3 but encode writes K = 2 per token", e.getMessage());
            Codes bad = Codes.onHeap(2, 4);
            bad.set(1, 3, 11, 1f);
            e = assertThrows(IllegalArgumentException.class,
                    () -> layer.decode(x, 2, bad, MemorySegment.ofArray(new float[6])));
            assertEquals("code index 11 at token 1, slot 3 is out of range [0, 11) (n_experts)", e.getMessage());
        }
    }

    @Test
    void closedLayerAndModelAreReported() {
        MxdModel model = MxdModel.random(config, 1);
        MxdLayer layer = new OracleBackend().load(model);
        layer.close();
        layer.close();
        var e = assertThrows(IllegalStateException.class, () -> layer.forward(new float[5]));
        assertEquals("this MxdLayer (backend reference) is closed", e.getMessage());
        model.close();
        var e2 = assertThrows(IllegalStateException.class, () -> new OracleBackend().load(model));
        assertTrue(e2.getMessage().contains("closed"), e2.getMessage());
    }
}
