package dev.mxd;

import dev.mxd.train.TrainingKernels;
import java.util.Optional;

/**
 * A compute backend for MxD layers, found with {@link java.util.ServiceLoader} (register an implementation
 * in {@code META-INF/services/dev.mxd.Backend}). Users pick one through {@link Backends}; implementations
 * need a public no-argument constructor that does no expensive work (probing happens in
 * {@link #availability()}).
 */
public interface Backend {

    /** The name used by {@code -Dmxd.backend}: {@code cpu}, {@code opencl}, {@code reference}. */
    String name();

    /**
     * Whether this backend can run here, on what device, or why not. Cheap after the first call (probe once,
     * remember the answer) and never throws.
     */
    Availability availability();

    /**
     * Prepares {@code model} for this backend: packs or uploads the weights once, so that calls on the
     * returned layer do no per-call packing. The caller owns the layer and closes it before the model (a
     * backend may keep reading the model's tensors).
     *
     * @throws MxdBackendException when the backend is unavailable
     * @throws IllegalStateException when the model is closed
     */
    MxdLayer load(MxdModel model);

    /**
     * The training kernels of this backend over {@code model}'s tensors (DESIGN §2), or empty when the backend
     * does not train. The kernels read the model's current values on every call, so a trainer may update them in
     * place between calls. The caller owns and closes the kernels, then the model.
     *
     * @throws MxdBackendException   when the backend trains but is unavailable here, with the reason
     * @throws IllegalStateException when the model is closed
     */
    default Optional<TrainingKernels> training(MxdModel model) {
        return Optional.empty();
    }
}
