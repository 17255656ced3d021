package dev.mxd.train;

import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The reference's decoder-norm mode ({@code norm_dec}, DESIGN §2). The decoder rows are the rows of C for an
 * MxD (row n = column n of {@code W_cond} [O, N]) and the rows of {@code W_dec} [H, O] for a TC or STC.
 * Before each step every row is scaled to unit L2 norm; after the backward pass the component of each row's
 * gradient parallel to the row is removed, {@code grad_n −= (grad_n · c_n)·c_n}, so that a small step stays
 * close to the unit sphere. The optimiser's step then moves rows off unit norm; the next step normalises them
 * again, and a model saved after the last step is not normalised, as in the reference.
 *
 * <p>Dot products and norms are computed in double, values stored as float32.
 */
public final class DecoderNorm {
    private DecoderNorm() {
    }

    /**
     * The reference default: on for an MxD and a TC; off for an STC, whose decoder starts at zero (normalising
     * a zero row gives NaN in the reference).
     */
    public static boolean referenceDefault(Kind kind) {
        return kind != Kind.STC;
    }

    /**
     * Scales every decoder row of {@code model} to unit norm.
     *
     * @throws IllegalStateException naming the first row of zero (or non-finite) norm; rows before it have
     *                               been normalised already, and that row and those after are untouched
     */
    public static void normalise(MxdModel model) {
        Rows r = rows(model.config());
        MemorySegment w = model.tensor(r.tensor).data();
        for (int n = 0; n < r.count; n++) {
            double s = 0;
            for (int o = 0; o < r.length; o++) {
                double v = w.getAtIndex(Tensor.F32_LE, r.at(n, o));
                s += v * v;
            }
            double norm = Math.sqrt(s);
            if (!(norm > 0) || Double.isInfinite(norm)) {
                throw new IllegalStateException("decoder-norm: row " + n + " of " + r.what + " has norm " + norm
                        + " and cannot be scaled to unit norm");
            }
            for (int o = 0; o < r.length; o++) {
                long at = r.at(n, o);
                w.setAtIndex(Tensor.F32_LE, at, (float) (w.getAtIndex(Tensor.F32_LE, at) / norm));
            }
        }
    }

    /** Removes from each decoder row's gradient its component parallel to the (current) row. */
    public static void removeParallelGradient(MxdModel model, ParameterTensors grads) {
        Rows r = rows(model.config());
        MemorySegment w = model.tensor(r.tensor).data();
        MemorySegment g = grads.tensor(r.tensor).data();
        for (int n = 0; n < r.count; n++) {
            double dot = 0;
            for (int o = 0; o < r.length; o++) {
                long at = r.at(n, o);
                dot += (double) g.getAtIndex(Tensor.F32_LE, at) * w.getAtIndex(Tensor.F32_LE, at);
            }
            if (dot == 0) {
                continue;  // rows without gradient (experts no token selected) stay exactly zero
            }
            for (int o = 0; o < r.length; o++) {
                long at = r.at(n, o);
                g.setAtIndex(Tensor.F32_LE, at,
                        (float) (g.getAtIndex(Tensor.F32_LE, at) - dot * w.getAtIndex(Tensor.F32_LE, at)));
            }
        }
    }

    /** Where the decoder rows are: {@code count} rows of {@code length}, element o of row n at {@link #at}. */
    private record Rows(String tensor, String what, int count, int length, long rowStride, long elementStride) {
        long at(int n, int o) {
            return n * rowStride + o * elementStride;
        }
    }

    private static Rows rows(MxdConfig cfg) {
        if (cfg.kind() == Kind.MXD) {
            return new Rows("W_cond", "C (column of W_cond)", cfg.experts(), cfg.outputDim(), 1, cfg.experts());
        }
        return new Rows("W_dec", "W_dec", cfg.hiddenDim(), cfg.outputDim(), cfg.outputDim(), 1);
    }
}
