package dev.mxd.train;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import java.lang.foreign.MemorySegment;

/**
 * The compute of a training step on a backend: kernels that own the parameters being trained, their gradients
 * and AdamW's moments, each in the layout the backend's kernels want, and convert to the checkpoint layout (the
 * model's tensors, DESIGN §4) only when asked ({@link #exportTo}, {@link #importFrom}). Everything else of
 * training (the schedule, AdamW's step count and coefficients, metrics, data, checkpoints) is backend-neutral and
 * lives in {@link Trainer}. The float64 oracle implements it in {@code dev.mxd.oracle.OracleTrainingKernels}, in the
 * checkpoint layout; a backend implements it with its own kernels and is tested against the oracle.
 *
 * <p>A step is {@link #normaliseDecoder} (with decoder-norm), {@link #forwardBackward}, then, once the caller has
 * checked the loss, {@link #update}: nothing is changed before {@code update}, so a non-finite loss can stop a run
 * with the parameters of the step before.
 *
 * <p>Contract:
 * <ul>
 *   <li>The kernels are made over a {@link MxdModel} ({@link #model()}) and read its parameters when made, with
 *       zero moments. They do not write it until {@link #exportTo}; the caller owns and closes it.</li>
 *   <li>Arrays are float32, row-major, native byte order: x [T, I], t [T, O], y [T, O]; codes [T, K] as
 *       {@link Codes} (sorted by value, ties to the lower index, DESIGN §1).</li>
 *   <li>{@link #forwardBackward} computes the gradient of {@code L = mean over T·O of (y − t)²/‖t‖} with respect to
 *       every parameter, TopK treated as a fixed selection; gradient rows of experts (TC: hidden units) selected by
 *       no token of the batch are exactly zero, and the work per token does not grow with N.</li>
 *   <li>A target row of zero norm is an {@link IllegalArgumentException} naming the row in the batch.</li>
 *   <li>Results are deterministic and do not depend on the backend's thread count: the same inputs give
 *       bit-identical outputs (resume relies on it).</li>
 *   <li>Not thread-safe: one call at a time. {@link #close()} frees what the kernels allocated, never the
 *       model.</li>
 * </ul>
 */
public interface TrainingKernels extends AutoCloseable {

    /** The model the kernels were made over: its config is theirs, and {@link Trainer} exports into it. */
    MxdModel model();

    /** The config of the layer being trained. */
    default MxdConfig config() {
        return model().config();
    }

    /**
     * Decoder-norm before a step: every decoder row scaled to unit norm, as {@link DecoderNorm#normalise}, bit for
     * bit.
     *
     * @throws IllegalStateException naming the first row of zero (or non-finite) norm; nothing is then changed
     */
    void normaliseDecoder();

    /**
     * Forward pass and gradient over one batch, the gradient kept by the kernels for {@link #update}.
     *
     * @param x       inputs [T, I]
     * @param t       targets [T, O]
     * @param tokens  T, at least 1
     * @param y       receives the outputs [T, O]
     * @param codes   receives the codes, [T, K]
     * @param project with decoder-norm: remove from each decoder row's gradient its component parallel to the row
     *                ({@link DecoderNorm#removeParallelGradient}, bit for bit)
     */
    void forwardBackward(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes, boolean project);

    /**
     * One AdamW update of every trainable parameter from the gradient of the last {@link #forwardBackward}, with
     * the moments the kernels own: element by element {@link AdamW#updateRange}, bit for bit.
     */
    void update(AdamW.Coefficients c);

    /** The forward pass alone (evaluation): y [T, O] and codes [T, K] of inputs x [T, I]. */
    void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes);

    /** Copies the gradient of the last {@link #forwardBackward} into {@code grads}, in the checkpoint layout. */
    void gradients(ParameterTensors grads);

    /**
     * Writes the parameters into {@code model}'s tensors ({@code b_dec} and other tensors untouched) and, when
     * given, AdamW's moments into {@code firstMoments} and {@code secondMoments}, in the checkpoint layout.
     */
    void exportTo(MxdModel model, ParameterTensors firstMoments, ParameterTensors secondMoments);

    /**
     * Replaces the parameters with {@code model}'s and the moments with the given ones (zero when null), e.g. on
     * resume.
     */
    void importFrom(MxdModel model, ParameterTensors firstMoments, ParameterTensors secondMoments);

    @Override
    void close();
}
