package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every backend's training kernels check their arguments here: each wrong argument is named. */
class BatchArgumentsTest {
    private static final MxdConfig CFG = MxdConfig.mxd(6, 8, 12, 5, 3, Activation.GELU, false, false);

    @Test
    void aGoodBatchPassesAndEachBadArgumentIsNamed() {
        MemorySegment x = MemorySegment.ofArray(new float[4 * 6]);
        MemorySegment y = MemorySegment.ofArray(new float[4 * 5]);
        Codes codes = Codes.onHeap(4, 3);
        BatchArguments.check(CFG, x, 4, y, codes, 12);
        refused("tokens must be >= 1, got 0", () -> BatchArguments.check(CFG, x, 0, y, codes, 12));
        refused("a batch of 4 tokens is too large for one call",
                () -> BatchArguments.check(CFG, x, 4, y, codes, Integer.MAX_VALUE / 2));
        refused("x needs 120 bytes, the segment has 96", () -> BatchArguments.check(CFG, x, 5, y, Codes.onHeap(5, 3), 12));
        refused("y needs 80 bytes, the segment has 40",
                () -> BatchArguments.check(CFG, x, 4, MemorySegment.ofArray(new float[10]), codes, 12));
        refused("codes must be [4, 3], got [4, 2]", () -> BatchArguments.check(CFG, x, 4, y, Codes.onHeap(4, 2), 12));
        refused("codes must be [4, 3], got [3, 3]", () -> BatchArguments.check(CFG, x, 4, y, Codes.onHeap(3, 3), 12));
        refused("y is a read-only segment", () -> BatchArguments.check(CFG, x, 4, y.asReadOnly(), codes, 12));
        assertEquals("codes", assertThrows(NullPointerException.class,
                () -> BatchArguments.check(CFG, x, 4, y, null, 12)).getMessage());
        assertEquals("t", assertThrows(NullPointerException.class,
                () -> BatchArguments.requireFloats("t", null, 1)).getMessage());
    }

    @Test
    void tensorsOfAnotherConfigAreRefused() {
        BatchArguments.requireConfig(CFG, ParameterTensors.zeros(CFG), "gradient");
        MxdConfig other = MxdConfig.mxd(6, 8, 13, 5, 3, Activation.GELU, false, false);
        refused("the first-moment tensors are for another config (MXD 6x8), not this model's",
                () -> BatchArguments.requireConfig(CFG, ParameterTensors.zeros(other), "first-moment"));
    }

    private static void refused(String message, Executable call) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
