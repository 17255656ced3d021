package dev.mxd.train;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleMxd;
import dev.mxd.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Data for the training tests of every backend: teachers' activations, random batches, a model's bytes. */
public final class TrainingTestData {
    private TrainingTestData() {
    }

    /** (x, teacher(x)) pairs of a random teacher of config {@code cfg}, computed by the oracle; x ~ N(0, 1). */
    public static ActivationSource teacherData(MxdConfig cfg, long seed, int train, int eval) {
        try (MxdModel teacher = MxdModel.random(cfg, seed)) {
            OracleMxd oracle = new OracleMxd(teacher);
            SplittableRandom r = new SplittableRandom(seed + 1);
            float[][] xs = new float[2][], ts = new float[2][];
            int[] sizes = {train, eval};
            for (int s = 0; s < 2; s++) {
                float[] x = new float[sizes[s] * cfg.inputDim()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                double[] y = oracle.forward(x, sizes[s]).y();
                float[] t = new float[y.length];
                for (int i = 0; i < y.length; i++) {
                    t[i] = (float) y[i];
                }
                xs[s] = x;
                ts[s] = t;
            }
            return ActivationSource.inMemory(cfg.inputDim(), cfg.outputDim(), xs[0], ts[0], xs[1], ts[1]);
        }
    }

    /** A batch of unrelated x ~ N(0, 1) [T, I] and targets ~ N(0, 1) [T, O]: {x, t}. */
    public static float[][] batch(MxdConfig cfg, int tokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[tokens * cfg.inputDim()];
        float[] t = new float[tokens * cfg.outputDim()];
        for (int j = 0; j < x.length; j++) {
            x[j] = (float) r.nextGaussian();
        }
        for (int j = 0; j < t.length; j++) {
            t[j] = (float) r.nextGaussian();
        }
        return new float[][] {x, t};
    }

    /** Every tensor of the model, in its order, as bytes: two models compare bit for bit by these. */
    public static byte[] bytes(MxdModel m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Tensor t : m.tensors().values()) {
            out.writeBytes(t.data().toArray(ValueLayout.JAVA_BYTE));
        }
        return out.toByteArray();
    }

    /** One gradient tensor, in the checkpoint layout, as floats. */
    public static float[] floats(ParameterTensors p, String name) {
        return p.tensor(name).data().toArray(Tensor.F32_LE);
    }
}
