package dev.mxd.train;

import dev.mxd.Backend;
import dev.mxd.MxdModel;

/**
 * A {@link Backend} that also trains, so it answers {@link Backend#trains()} with true. It lives here rather than in
 * the root package so that the API's core types (config, model, layer, backend) do not depend on training;
 * {@link TrainingBackends} joins the two.
 */
public interface TrainingBackend extends Backend {

    /** True: this backend trains. */
    @Override
    default boolean trains() {
        return true;
    }

    /**
     * Training kernels over {@code model}'s tensors (DESIGN §2). The caller owns and closes the kernels, then the
     * model.
     *
     * @throws dev.mxd.MxdBackendException when the backend is unavailable here, with the reason
     * @throws IllegalStateException        when the model is closed
     */
    TrainingKernels kernels(MxdModel model);
}
