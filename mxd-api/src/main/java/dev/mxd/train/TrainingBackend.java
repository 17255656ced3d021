package dev.mxd.train;

import dev.mxd.MxdModel;

/**
 * The training side of a {@link dev.mxd.Backend}: implemented by the same class as the backend, which answers
 * {@link dev.mxd.Backend#trains()} with true. It lives here rather than in the root package so that the API's core
 * types (config, model, layer, backend) do not depend on training; {@link TrainingBackends} joins the two.
 */
public interface TrainingBackend {

    /** The backend's name, as {@link dev.mxd.Backend#name()}. */
    String name();

    /**
     * Training kernels over {@code model}'s tensors (DESIGN §2). The caller owns and closes the kernels, then the
     * model.
     *
     * @throws dev.mxd.MxdBackendException when the backend is unavailable here, with the reason
     * @throws IllegalStateException        when the model is closed
     */
    TrainingKernels kernels(MxdModel model);
}
