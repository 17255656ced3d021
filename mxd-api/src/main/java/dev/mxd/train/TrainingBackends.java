package dev.mxd.train;

import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdModel;

/** Training kernels from the backend {@link Backends#selectForTraining()} chooses, or from a given one. */
public final class TrainingBackends {
    private TrainingBackends() {
    }

    /**
     * Kernels of the training backend that {@code -Dmxd.backend} (else {@code MXD_BACKEND}, else {@code auto})
     * names. The caller owns and closes the kernels, then the model.
     *
     * @throws MxdBackendException when that backend is unknown, unavailable or does not train
     */
    public static TrainingKernels kernels(MxdModel model) {
        return kernels(Backends.selectForTraining(), model);
    }

    /**
     * Kernels of {@code backend} over {@code model}.
     *
     * @throws MxdBackendException when the backend does not train
     */
    public static TrainingKernels kernels(Backend backend, MxdModel model) {
        if (backend instanceof TrainingBackend training && backend.trains()) {
            return training.kernels(model);
        }
        throw new MxdBackendException("backend '" + backend.name() + "' does not train; backends that train here: "
                + String.join(", ", Backends.installed().stream().filter(Backend::trains).map(Backend::name).toList())
                + " (reference is the exact and slow float64 oracle)");
    }
}
