package dev.mxd.opencl;

import dev.mxd.Backend;
import dev.mxd.train.TrainerContract;

/** The trainer's contract ({@link TrainerContract}) on the OpenCL kernels, on the default device. */
class OpenClTrainerTest extends TrainerContract {
    @Override
    protected Backend backend() {
        return OpenClTestSupport.backend();
    }
}
