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
     * @throws IllegalStateException naming the first row of zero (or non-finite) norm; the decoder is then
     *                               unchanged
     */
    public static void normalise(MxdModel model) {
        Rows r = rows(model.config());
        MemorySegment w = model.tensor(r.tensor).data();
        double[] norms = rowSums(r, w, w);
        for (int n = 0; n < r.count; n++) {
            norms[n] = Math.sqrt(norms[n]);
            checkNorm(r, n, norms[n]);
        }
        forEach(r, (n, at) -> w.setAtIndex(Tensor.F32_LE, at, (float) (w.getAtIndex(Tensor.F32_LE, at) / norms[n])));
    }

    /**
     * The check {@link #normalise} makes of row n's norm, for backends that compute the norms themselves.
     *
     * @throws IllegalStateException naming the row when its norm is zero or not finite
     */
    public static void checkNorm(MxdConfig config, int n, double norm) {
        checkNorm(rows(config), n, norm);
    }

    private static void checkNorm(Rows r, int n, double norm) {
        if (!(norm > 0) || Double.isInfinite(norm)) {
            throw new IllegalStateException("decoder-norm: row " + n + " of " + r.what + " has norm " + norm
                    + " and cannot be scaled to unit norm");
        }
    }

    /**
     * Removes from each decoder row's gradient its component parallel to the (current) row. A row whose gradient is
     * orthogonal to it (such as the zero gradient of an expert no token selected) is left exactly as it is.
     */
    public static void removeParallelGradient(MxdModel model, ParameterTensors grads) {
        Rows r = rows(model.config());
        MemorySegment w = model.tensor(r.tensor).data();
        MemorySegment g = grads.tensor(r.tensor).data();
        double[] dots = rowSums(r, g, w);
        forEach(r, (n, at) -> {
            if (dots[n] != 0) {
                g.setAtIndex(Tensor.F32_LE, at,
                        (float) (g.getAtIndex(Tensor.F32_LE, at) - dots[n] * w.getAtIndex(Tensor.F32_LE, at)));
            }
        });
    }

    /** {@code Σ_o a[n, o]·b[n, o]} per row n, in double, summed in order of o. */
    private static double[] rowSums(Rows r, MemorySegment a, MemorySegment b) {
        double[] sums = new double[r.count];
        forEach(r, (n, at) -> sums[n] += (double) a.getAtIndex(Tensor.F32_LE, at) * b.getAtIndex(Tensor.F32_LE, at));
        return sums;
    }

    @FunctionalInterface
    private interface Element {
        void visit(int n, long at);
    }

    /**
     * Visits every element of the decoder rows, each row's elements in order of o, in memory order: row by row for
     * W_dec, and for W_cond [O, N] (rows are its columns) along its rows, so the strided rows cost no cache misses.
     */
    private static void forEach(Rows r, Element e) {
        if (r.elementStride == 1) {
            for (int n = 0; n < r.count; n++) {
                for (int o = 0; o < r.length; o++) {
                    e.visit(n, r.at(n, o));
                }
            }
        } else {
            for (int o = 0; o < r.length; o++) {
                for (int n = 0; n < r.count; n++) {
                    e.visit(n, r.at(n, o));
                }
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
