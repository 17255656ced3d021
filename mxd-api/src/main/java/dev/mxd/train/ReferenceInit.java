package dev.mxd.train;

import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * The reference's initialisation of a new layer (its {@code SparseAutoencoder.__init__} with the defaults of
 * its training scripts: no Kaiming init, no transposed-decoder init, {@code b_dec} zeros), DESIGN §2:
 * <ul>
 *   <li>{@code W_enc} ~ U(−1/√I, 1/√I) (an {@code nn.Linear(I, H)} weight, transposed), {@code b_enc} = 0;</li>
 *   <li>GLU: {@code W_glu.weight} and {@code W_glu.bias} ~ U(−1/√I, 1/√I), like an {@code nn.Linear(I, H)};</li>
 *   <li>MxD: {@code gate} ~ U(−1/√I, 1/√I), {@code gate_bias} = 0, {@code W_dec} = 0; C ~ U(−1, 1) with unit
 *       rows under decoder-norm, else {@code W_cond} ~ U(−1/√N, 1/√N) (an {@code nn.Linear(N, O)} weight);</li>
 *   <li>TC: {@code W_dec} ~ U(−1/√H, 1/√H) (an {@code nn.Linear(H, O)} weight, transposed), unit rows under
 *       decoder-norm; STC: {@code W_dec} = 0;</li>
 *   <li>{@code W_skip.weight} = 0, {@code b_dec_out} = 0, {@code b_dec} = 0.</li>
 * </ul>
 * The distributions are the reference's; the random stream is not PyTorch's (a {@link SplittableRandom} of
 * the seed), so the same seed gives the same model in mxd, not the reference's exact values.
 */
public final class ReferenceInit {
    private ReferenceInit() {
    }

    /**
     * A freshly initialised model; the caller owns and closes it.
     *
     * @param normDec decoder-norm, as the run will use it ({@link DecoderNorm#referenceDefault})
     * @throws IllegalArgumentException for decoder-norm on an STC, whose zero decoder cannot be normalised
     */
    public static MxdModel create(MxdConfig cfg, boolean normDec, long seed) {
        if (normDec && cfg.kind() == Kind.STC) {
            throw new IllegalArgumentException("decoder-norm is not possible at initialisation for an STC: its W_dec"
                    + " starts at zero (the reference would produce NaN); train an STC with norm_dec = false");
        }
        MxdModel model = MxdModel.zeros(cfg);
        try {
            SplittableRandom rnd = new SplittableRandom(seed);
            double sI = 1 / Math.sqrt(cfg.inputDim());
            uniform(model, "W_enc", sI, rnd);
            if (cfg.glu()) {
                uniform(model, "W_glu.weight", sI, rnd);
                uniform(model, "W_glu.bias", sI, rnd);
            }
            if (cfg.kind() == Kind.MXD) {
                uniform(model, "gate", sI, rnd);
                uniform(model, "W_cond", normDec ? 1.0 : 1 / Math.sqrt(cfg.experts()), rnd);
            } else if (cfg.kind() == Kind.TC) {
                uniform(model, "W_dec", 1 / Math.sqrt(cfg.hiddenDim()), rnd);
            }
            if (normDec) {
                DecoderNorm.normalise(model);
            }
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static void uniform(MxdModel model, String name, double bound, SplittableRandom rnd) {
        Tensor t = model.tensor(name);
        MemorySegment s = t.data();
        for (long i = 0; i < t.elementCount(); i++) {
            s.setAtIndex(Tensor.F32_LE, i, (float) (bound * (2 * rnd.nextDouble() - 1)));
        }
    }
}
