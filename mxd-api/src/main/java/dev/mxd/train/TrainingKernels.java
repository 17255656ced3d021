package dev.mxd.train;

import dev.mxd.Codes;
import dev.mxd.MxdModel;
import java.lang.foreign.MemorySegment;

/**
 * The compute a training step needs from a backend: the forward pass and the gradient of the normalised loss
 * (DESIGN §2) over one batch. Everything else of training (AdamW, schedules, decoder-norm, metrics, data,
 * checkpoints) is backend-neutral and lives in {@link Trainer}; the passes over every parameter (decoder-norm,
 * AdamW) are called through these kernels, whose defaults run the backend-neutral code, so that a backend may run
 * the same arithmetic faster. The float64 oracle implements it in
 * {@code dev.mxd.oracle.OracleTrainingKernels}; a backend implements it with its own kernels and is tested against the
 * oracle.
 *
 * <p>Contract:
 * <ul>
 *   <li>The kernels belong to one {@link MxdModel}, whose F32 tensors are the parameters. The trainer changes
 *       them in place between calls, so every call reads their current values (a backend that packs weights
 *       repacks them per call, or per step).</li>
 *   <li>Arrays are float32, row-major, native byte order: x [T, I], t [T, O], y [T, O]; codes [T, K] as
 *       {@link Codes} (sorted by value, ties to the lower index, DESIGN §1).</li>
 *   <li>{@link #forwardBackward} overwrites every tensor of {@code grads} with the gradient of
 *       {@code L = mean over T·O of (y − t)²/‖t‖} with respect to that parameter, TopK treated as a fixed
 *       selection; gradient rows of experts (TC: hidden units) selected by no token of the batch are exactly
 *       zero, and the work per token does not grow with N.</li>
 *   <li>A target row of zero norm is an {@link IllegalArgumentException} naming the row in the batch.</li>
 *   <li>Results are deterministic for a given thread count: the same inputs give bit-identical outputs (resume
 *       relies on it).</li>
 *   <li>Not thread-safe: one call at a time. {@link #close()} frees what the kernels allocated, never the
 *       model.</li>
 * </ul>
 */
public interface TrainingKernels extends AutoCloseable {

    /** The model whose tensors are the parameters. */
    MxdModel model();

    /**
     * Forward pass and gradient over one batch.
     *
     * @param x      inputs [T, I]
     * @param t      targets [T, O]
     * @param tokens T, at least 1
     * @param y      receives the outputs [T, O]
     * @param codes  receives the codes, [T, K]
     * @param grads  receives the gradients, one tensor per trainable parameter, overwritten
     */
    void forwardBackward(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                         ParameterTensors grads);

    /**
     * {@link #forwardBackward} followed by {@link #removeParallelDecoderGradient}: the step of a run with
     * decoder-norm. A backend may fuse the two, bit-identically.
     */
    default void forwardBackwardProjected(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                                          ParameterTensors grads) {
        forwardBackward(x, t, tokens, y, codes, grads);
        removeParallelDecoderGradient(grads);
    }

    /** The forward pass alone (evaluation): y [T, O] and codes [T, K] of inputs x [T, I]. */
    void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes);

    /**
     * Decoder-norm before a step: {@link DecoderNorm#normalise} on the model. A backend may do it with its own
     * code, bit-identically.
     */
    default void normaliseDecoder() {
        DecoderNorm.normalise(model());
    }

    /**
     * Decoder-norm after the backward pass: {@link DecoderNorm#removeParallelGradient}. A backend may do it with its
     * own code, bit-identically.
     */
    default void removeParallelDecoderGradient(ParameterTensors grads) {
        DecoderNorm.removeParallelGradient(model(), grads);
    }

    /**
     * One AdamW update of the model: {@link AdamW#step(MxdModel, ParameterTensors, double)}. A backend may pass its
     * own element-wise {@link AdamW.Update}, bit-identical to {@link AdamW#updateRange}.
     */
    default void adamStep(AdamW adam, ParameterTensors grads, double lr) {
        adam.step(model(), grads, lr);
    }

    @Override
    void close();
}
