package dev.mxd.cpu;

import static dev.mxd.train.TrainingTestData.batch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.TrainingKernelsContract;
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
