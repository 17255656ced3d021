package dev.mxd.cpu;

import dev.mxd.Availability;
import dev.mxd.DenseOps;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.train.TrainingBackend;
import dev.mxd.train.TrainingKernels;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code cpu} backend: MxD, TC and STC layers on the CPU, over the Vector API and all cores (DESIGN §8).
 *
 * <p>Properties, each read once per JVM: {@code mxd.threads} (worker threads including the caller; default the
 * available processors) and {@code mxd.simd.bits} ({@code 0} scalar, or {@code 128|256|512} to force a vector
 * width; default the CPU's preferred width). Without {@code --add-modules jdk.incubator.vector} the backend
 * reports itself unavailable and says so, unless {@code mxd.simd.bits=0} asks for the scalar path, which needs
 * no module.
 *
 * <p>{@link #load} packs the weights once into the layouts the kernels read; the returned layer keeps its own
 * copy, on the Java heap (about the model's own size: size {@code -Xmx} for it), and does not read the model
 * afterwards. A call allocates scratch per worker thread sized by a block of at most 192 tokens, never by T·N.
 */
public final class CpuBackend implements TrainingBackend {
    public static final String NAME = "cpu";

    private volatile Availability availability;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            a = probe();
            availability = a;
        }
        return a;
    }

    /**
     * Packs {@code model}'s weights for the kernels (using all worker threads) and returns a layer that owns the
     * packed copy. The caller closes the layer; the model may be closed independently afterwards.
     *
     * @throws MxdBackendException   when the backend is unavailable, with the reason
     * @throws IllegalStateException when the model is closed
     */
    @Override
    public MxdLayer load(MxdModel model) {
        Objects.requireNonNull(model, "model");
        requireAvailable();
        model.requireOpen("load a model onto backend " + NAME);
        MxdLayer.checkFiniteWeights(model);
        return CpuLayer.load(model, Kernels.get(), WorkerPool.shared());
    }

    /**
     * Training kernels that take {@code model}'s tensors as the initial parameters ({@link CpuTrainingKernels}): they
     * keep the parameters in the kernels' layout and write them back to the model on export. The caller closes the
     * kernels, then the model.
     *
     * @throws MxdBackendException   when the backend is unavailable, with the reason
     * @throws IllegalStateException when the model is closed
     */
    @Override
    public TrainingKernels kernels(MxdModel model) {
        Objects.requireNonNull(model, "model");
        requireAvailable();
        return new CpuTrainingKernels(model, Kernels.get(), WorkerPool.shared());
    }

    /**
     * {@link PackedDense} and {@link Attention} as {@link DenseOps} ({@link CpuDenseOps}); closing them releases
     * nothing.
     *
     * @throws MxdBackendException when the backend is unavailable, with the reason
     */
    @Override
    public DenseOps denseOps() {
        requireAvailable();
        return new CpuDenseOps();
    }

    private void requireAvailable() {
        Availability a = availability();
        if (!a.available()) {
            throw new MxdBackendException("backend " + NAME + " is unavailable: " + a.detail());
        }
    }

    private static Availability probe() {
        Optional<String> problem = Kernels.problem().or(WorkerPool::problem);
        if (problem.isPresent()) {
            return Availability.unavailable(problem.get());
        }
        try {
            return Availability.ready(false, Kernels.get().describe() + ", "
                    + WorkerPool.shared().parallelism() + " threads");
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("the cpu kernels failed to initialise: " + e);
        }
    }
}
