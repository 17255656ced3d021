package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.TrainingKernels;
import dev.mxd.train.TrainingKernelsContract;
import org.junit.jupiter.api.Test;

/**
 * The training kernels' contract ({@link TrainingKernelsContract}) on the default OpenCL device, and the release of
 * every OpenCL object the kernels make, after calls refused for bad input too.
 */
class OpenClTrainingKernelsTest extends TrainingKernelsContract {
    @Override
    protected Backend backend() {
        return OpenClTestSupport.backend();
    }

    @Test
    void everyObjectIsReleasedAfterBadInput() {
        MxdConfig cfg = MxdConfig.transcoder(8, 12, 6, 3, Activation.RELU, true);
        int before = ClObjects.live();
        try (MxdModel model = MxdModel.random(cfg, 2)) {
            for (int cycle = 0; cycle < 3; cycle++) {
                try (TrainingKernels cl = kernels(model)) {
                    assertBadInputIsRefused(cl, 7, 3);
                    assertTrue(ClObjects.live() > before, "the kernels' objects are counted");
                }
                assertEquals(before, ClObjects.live(), "live OpenCL objects after cycle " + cycle);
            }
            kernels(model).close();
        }
        assertEquals(before, ClObjects.live(), "live OpenCL objects at the end");
    }
}
