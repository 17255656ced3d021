package dev.mxd.cpu;

import static dev.mxd.train.TrainingTestData.batch;
import static dev.mxd.train.TrainingTestData.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.AdamW;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.TrainingKernelsContract;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The training kernels' contract ({@link TrainingKernelsContract}) on the cpu backend, and the work of its sparse
 * backward pass, which counts (token, expert) pairs, not N.
 */
class CpuTrainingKernelsTest extends TrainingKernelsContract {
    @Override
    protected Backend backend() {
        return new CpuBackend();
    }

    /**
     * The expert rows of an MxD's gradient are applied by the update without being written out unless asked for
     * before it: after such an update the gradient is refused, naming when to ask; asked for in time, it stays
     * readable after the update, the same as before it.
     */
    @Test
    void theGradientIsReadableUntilTheUpdateAppliesIt() {
        int tokens = 23;
        MxdConfig cfg = MxdConfig.mxd(9, 12, 70, 7, 3, Activation.GELU, false, false);
        float[][] b = batch(cfg, tokens, 4);
        AdamW adam = AdamW.reference();
        try (MxdModel model = MxdModel.random(cfg, 5);
             ParameterTensors before = ParameterTensors.zeros(cfg);
             ParameterTensors after = ParameterTensors.zeros(cfg);
             CpuTrainingKernels cpu = CpuTrainingKernels.of(model)) {
            forwardBackward(cpu, b, tokens, new float[tokens * 7], Codes.onHeap(tokens, 3), before, true);
            cpu.update(adam.next(1e-3));
            cpu.gradients(after);
            for (String name : before.names()) {
                assertArrayEquals(floats(before, name), floats(after, name), name);
            }
            cpu.forwardBackward(MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                    MemorySegment.ofArray(new float[tokens * 7]), Codes.onHeap(tokens, 3), true);
            cpu.update(adam.next(1e-3));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> cpu.gradients(after));
            assertTrue(e.getMessage().contains("between forwardBackward() and update()"), e.getMessage());
        }
    }

    /** The sparse pass visits exactly the (token, expert) pairs of a non-zero code, at most T·K whatever N. */
    @ParameterizedTest
    @ValueSource(ints = {50, 5000})
    void sparseWorkCountsTheSelectedPairs(int experts) {
        int tokens = 17, k = 2;
        MxdConfig cfg = MxdConfig.mxd(9, 12, experts, 7, k, Activation.GELU, false, false);
        float[][] b = batch(cfg, tokens, 4);
        try (MxdModel model = MxdModel.random(cfg, 5);
             ParameterTensors g = ParameterTensors.zeros(cfg);
             CpuTrainingKernels cpu = CpuTrainingKernels.of(model)) {
            Codes codes = Codes.onHeap(tokens, k);
            forwardBackward(cpu, b, tokens, new float[tokens * 7], codes, g, false);
            int nonZero = 0;
            for (int r = 0; r < tokens; r++) {
                for (int j = 0; j < k; j++) {
                    if (codes.value(r, j) != 0f) {
                        nonZero++;
                    }
                }
            }
            assertEquals(nonZero, cpu.sparseRowsVisited(), "the sparse pass visits exactly the non-zero pairs");
            assertTrue(cpu.sparseRowsVisited() <= (long) tokens * k,
                    "sparse work bounded by T·K whatever N: " + cpu.sparseRowsVisited());
        }
    }
}
