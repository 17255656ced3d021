package dev.mxd;

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
     * Whether this backend also trains: true exactly for a {@code dev.mxd.train.TrainingBackend}, which extends this
     * interface (the training side lives in the {@code train} package, which builds on this one).
     * {@link Backends#selectForTraining} picks among the backends that do.
     */
    default boolean trains() {
        return false;
    }

    /**
     * The dense operations of this backend ({@link DenseOps}: a dense layer and self-attention), on which a model
     * outside mxd's own layers runs, e.g. the transformer activations are harvested from (DESIGN §7). The caller
     * owns the result and closes it. This default has none.
     *
     * @throws MxdBackendException when the backend has no dense operations, or is unavailable here (with the reason)
     */
    default DenseOps denseOps() {
        throw new MxdBackendException("backend '" + name() + "' has no dense operations (DenseOps); choose cpu,"
                + " opencl or reference");
    }
}
