package dev.mxd.oracle;

import dev.mxd.Codes;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import dev.mxd.train.DecoderNorm;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * {@link TrainingKernels} by the float64 oracle ({@link OracleBackward}), in the checkpoint layout: the
 * parameters are the model's own tensors, updated in place; the gradient and AdamW's moments are
 * {@link ParameterTensors} these kernels own. Each call widens the current F32 weights to double, computes in double
 * and rounds outputs and gradients to F32 once. Exact and slow, single-threaded; the yardstick for a backend's
 * kernels and the first trainer.
 */
public final class OracleTrainingKernels implements TrainingKernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final MxdModel model;
    private final ParameterTensors grads;
    private final ParameterTensors m;
    private final ParameterTensors v;

    /** Kernels over {@code model}'s tensors; the caller keeps ownership of the model. */
    public OracleTrainingKernels(MxdModel model) {
        this.model = Objects.requireNonNull(model, "model");
        this.grads = ParameterTensors.zeros(model.config());
        this.m = ParameterTensors.zeros(model.config());
        this.v = ParameterTensors.zeros(model.config());
    }

    @Override
    public MxdModel model() {
        return model;
    }

    @Override
    public void normaliseDecoder() {
        DecoderNorm.normalise(model);
    }

    @Override
    public void forwardBackward(MemorySegment x, MemorySegment t, int tokens, MemorySegment y, Codes codes,
                                boolean project) {
        int in = model.config().inputDim();
        int out = model.config().outputDim();
        OracleBackward.Pass pass = OracleBackward.of(model).run(floats(x, (long) tokens * in, "x"),
                floats(t, (long) tokens * out, "t"), tokens);
        for (Map.Entry<String, double[]> e : pass.gradients().entrySet()) {
            Tensor g = grads.tensor(e.getKey());
            double[] d = e.getValue();
            for (int i = 0; i < d.length; i++) {
                g.data().setAtIndex(Tensor.F32_LE, i, (float) d[i]);
            }
        }
        write(pass.y(), pass.codes(), y, codes);
        if (project) {
            DecoderNorm.removeParallelGradient(model, grads);
        }
    }

    @Override
    public void update(AdamW.Coefficients c) {
        AdamW.update(model, grads, m, v, c);
    }

    @Override
    public void gradients(ParameterTensors into) {
        copy(grads, into);
    }

    @Override
    public void exportTo(MxdModel into, ParameterTensors firstMoments, ParameterTensors secondMoments) {
        copyParameters(model, into);
        copy(m, firstMoments);
        copy(v, secondMoments);
    }

    @Override
    public void importFrom(MxdModel from, ParameterTensors firstMoments, ParameterTensors secondMoments) {
        copyParameters(from, model);
        if (firstMoments == null) {
            m.clear();
        } else {
            copy(firstMoments, m);
        }
        if (secondMoments == null) {
            v.clear();
        } else {
            copy(secondMoments, v);
        }
    }

    /** Copies every trained tensor from one model to another of the same config; nothing when they are the same. */
    private void copyParameters(MxdModel from, MxdModel to) {
        if (from != to) {
            copyTensors(grads.names(), from::tensor, to::tensor);
        }
    }

    /** Copies one set of moments into another; nothing when {@code to} is null (the caller wants none). */
    private static void copy(ParameterTensors from, ParameterTensors to) {
        if (to != null) {
            copyTensors(from.names(), from::tensor, to::tensor);
        }
    }

    private static void copyTensors(List<String> names, Function<String, Tensor> from, Function<String, Tensor> to) {
        for (String name : names) {
            MemorySegment dst = to.apply(name).data();
            MemorySegment.copy(from.apply(name).data(), 0, dst, 0, dst.byteSize());
        }
    }

    @Override
    public void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        OracleMxd.Result r = new OracleMxd(model).forward(
                floats(x, (long) tokens * model.config().inputDim(), "x"), tokens);
        write(r.y(), r.codes(), y, codes);
    }

    private void write(double[] yv, OracleMxd.Codes64 c, MemorySegment y, Codes codes) {
        if (y.byteSize() < (long) yv.length * 4 || codes.tokens() != c.tokens() || codes.width() != c.width()) {
            throw new IllegalArgumentException("output buffers too small: y needs " + (long) yv.length * 4
                    + " bytes and codes [" + c.tokens() + ", " + c.width() + "], got " + y.byteSize() + " bytes and ["
                    + codes.tokens() + ", " + codes.width() + "]");
        }
        for (int i = 0; i < yv.length; i++) {
            y.setAtIndex(F32, i, (float) yv[i]);
        }
        for (int r = 0; r < c.tokens(); r++) {
            for (int j = 0; j < c.width(); j++) {
                codes.set(r, j, c.index()[r * c.width() + j], (float) c.value()[r * c.width() + j]);
            }
        }
    }

    private static float[] floats(MemorySegment s, long count, String what) {
        if (s.byteSize() < count * 4) {
            throw new IllegalArgumentException(what + " needs " + count * 4 + " bytes, got " + s.byteSize());
        }
        return s.asSlice(0, count * 4).toArray(F32);
    }

    @Override
    public void close() {
        grads.close();
        m.close();
        v.close();
    }
}
