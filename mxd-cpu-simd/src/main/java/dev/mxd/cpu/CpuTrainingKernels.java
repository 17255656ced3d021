package dev.mxd.cpu;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.AdamW;
import dev.mxd.train.BatchArguments;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * {@link TrainingKernels} on the cpu backend. The kernels own the parameters in the layout the forward pass reads
 * ({@link TrainingParameters}: GEMM operands packed, C = W_condᵀ as [N, O] rows), with the gradient and AdamW's
 * moments in the same layout, so a step neither repacks weights nor transposes W_cond: the model's layout is read
 * when the kernels are made (or on {@link #importFrom}) and written on {@link #exportTo} only. A step is
 * <ol>
 *   <li>the inference forward pass ({@link LayerForward}, the code {@link CpuLayer} runs) keeping its
 *       intermediates in the trainer's workspace ({@link TrainingBatch});</li>
 *   <li>the backward pass ({@link Backward}, with the sparse expert rows of {@link ExpertGradients} and the
 *       decoder-gradient projection fused into them), each gradient written in its parameter's layout;</li>
 *   <li>{@link #update}: AdamW over each parameter's array, in place ({@link TrainingParameters#update}).</li>
 * </ol>
 *
 * <p>Determinism: every GEMM element is one chain of fused multiply-adds in order of the reduction index, whatever
 * the blocking; bias gradients and sparse rows are summed in token order by a single participant; the parameter
 * passes compute each element alone. Results are therefore bit-identical from call to call and do not depend on
 * {@code mxd.threads}.
 *
 * <p>Ownership: the caller owns the model and closes it after these kernels; the kernels hold heap arrays only (the
 * parameters, gradient and moments, about four times the model's size, and the batch workspace), dropped on
 * {@link #close()}. Not thread-safe.
 */
final class CpuTrainingKernels implements TrainingKernels {
    private final MxdModel model;
    private final MxdConfig cfg;
    private final Kernels kern;
    private final LayerForward forward;
    private final Backward backward;
    private TrainingParameters params;
    private TrainingBatch batch;

    CpuTrainingKernels(MxdModel model, Kernels kern, WorkerPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        model.requireOpen("train on backend " + CpuBackend.NAME);
        this.cfg = model.config();
        this.kern = kern;
        this.forward = new LayerForward(cfg, kern, pool);
        this.backward = new Backward(cfg, kern, pool);
        this.params = new TrainingParameters(cfg, kern, pool);
        params.importFrom(model, null, null);
    }

    /**
     * Kernels over {@code model}'s parameters as they are now, on this JVM's cpu kernels and worker pool; the
     * caller keeps ownership of the model.
     *
     * @throws dev.mxd.MxdBackendException when the cpu backend is unavailable here, with the reason
     */
    public static CpuTrainingKernels of(MxdModel model) {
        return (CpuTrainingKernels) new CpuBackend().kernels(model);
    }

    @Override
    public MxdModel model() {
        return model;
    }

    /** The (token, expert) pairs, or for a TC (token, hidden unit) pairs, the last backward pass summed. */
    long sparseRowsVisited() {
        return backward.sparsePairsVisited();
    }

    @Override
    public void normaliseDecoder() {
        long time = PhaseTimes.start();
        open().normaliseDecoder();
        PhaseTimes.end("decoder-norm", time);
    }

    @Override
    public void forwardBackward(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                                boolean project) {
        check(x, tokens, y, codes);
        BatchArguments.requireFloats("t", t, (long) tokens * cfg.outputDim());
        long time = PhaseTimes.start();
        TrainingBatch b = batch(tokens);
        MemorySegment.copy(t, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, b.t, 0, tokens * cfg.outputDim());
        targetNorms(b, tokens);
        time = PhaseTimes.end("target norms", time);
        PhaseTimes.clearGemm();
        runForward(b, x, tokens, y, codes, b.kept);
        PhaseTimes.endSplit("forward GEMMs (gate, encoder, decoder)",
                "forward epilogues (bias, relu, TopK, activation, gather, packing, copies, imbalance)", time,
                forward.participants());
        backward.run(params, b, tokens, project);
    }

    @Override
    public void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        check(x, tokens, y, codes);
        runForward(batch(tokens), x, tokens, y, codes, null);
    }

    @Override
    public void update(AdamW.Coefficients c) {
        long time = PhaseTimes.start();
        open().update(Objects.requireNonNull(c, "coefficients"));
        PhaseTimes.end("AdamW", time);
    }

    @Override
    public void gradients(ParameterTensors grads) {
        BatchArguments.requireConfig(cfg, grads, "gradient");
        open().gradientsTo(grads);
    }

    @Override
    public void exportTo(MxdModel into, ParameterTensors firstMoments, ParameterTensors secondMoments) {
        open().exportTo(Objects.requireNonNull(into, "model"), firstMoments, secondMoments);
    }

    @Override
    public void importFrom(MxdModel from, ParameterTensors firstMoments, ParameterTensors secondMoments) {
        open().importFrom(Objects.requireNonNull(from, "model"), firstMoments, secondMoments);
    }

    @Override
    public void close() {
        params = null;
        batch = null;
    }

    private void runForward(TrainingBatch b, MemorySegment x, int tokens, MemorySegment y, Codes codes,
                            LayerForward.Intermediates keep) {
        int i = cfg.inputDim(), o = cfg.outputDim(), k = cfg.k();
        MemorySegment.copy(x, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, b.x, 0, tokens * i);
        forward.run(LayerForward.Op.FORWARD, params.weights, MemorySegment.ofArray(b.x), tokens, b.codes,
                MemorySegment.ofArray(b.y), keep);
        MemorySegment.copy(b.y, 0, y, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, tokens * o);
        MemorySegment.copy(b.codeIndex, 0, codes.indexSegment(), ValueLayout.JAVA_INT_UNALIGNED, 0, tokens * k);
        MemorySegment.copy(b.codeValue, 0, codes.valueSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, tokens * k);
    }

    /** The workspace for a batch of {@code tokens}, made (or grown) on first need. */
    private TrainingBatch batch(int tokens) {
        open();
        if (batch == null || batch.capacity < tokens) {
            batch = null;
            batch = new TrainingBatch(cfg, tokens, kern.nr);
        }
        return batch;
    }

    /**
     * ‖t‖ per row, its sum of squares in double in order of o ({@link DecoderRows#squares}, four rows a pass),
     * rounded once; a zero or non-finite norm is an error naming the row.
     */
    private void targetNorms(TrainingBatch b, int tokens) {
        DecoderRows.squares(b.t, 0, cfg.outputDim(), tokens, b.normSums, 0);
        for (int r = 0; r < tokens; r++) {
            double norm = Math.sqrt(b.normSums[r]);
            if (!(norm > 0) || Double.isInfinite(norm)) {
                throw new IllegalArgumentException("target row " + r + " of the batch has norm " + norm
                        + ": the normalised loss divides by ‖t‖, so a zero (or non-finite) target row is not allowed");
            }
            b.norms[r] = (float) norm;
        }
    }

    private TrainingParameters open() {
        TrainingParameters p = params;
        if (p == null) {
            throw new IllegalStateException("these cpu training kernels are closed");
        }
        return p;
    }

    private void check(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        open();
        BatchArguments.check(cfg, x, tokens, y, codes,
                Math.max(Math.max(cfg.inputDim(), cfg.outputDim()), cfg.hiddenDim()));
    }
}
