package dev.mxd.train;

import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;

/**
 * AdamW as {@code torch.optim.AdamW} computes it (the reference's optimiser), dense over every trainable
 * parameter every step: an element without gradient still moves by its moments, as in the reference (a lazy
 * or sparse Adam would not reproduce it). {@code b_dec} has no gradient in the reference and is never
 * touched, as there.
 *
 * <p>Per element, at step s (1 for the first update), learning rate lr:
 * <pre>
 * p ← p·(1 − lr·wd)
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * p ← p − lr/(1 − β1ˢ) · m / (√v / √(1 − β2ˢ) + ε)
 * </pre>
 * State (m, v, parameters) is float32 as in PyTorch; each element is computed in double and rounded once
 * per stored value, so results match torch's float32 arithmetic to about an ulp per step.
 *
 * <p>This object holds the settings and the step count, and gives each update's {@link Coefficients}; the moments
 * belong to whoever holds the parameters (a backend's {@link TrainingKernels}, in their layout), which applies
 * {@link #updateRange} element by element, or {@link #update} over tensors in the checkpoint layout.
 */
public final class AdamW {
    /** Elements per parallel task of {@link #update}: large enough that the fork-join overhead vanishes. */
    private static final int CHUNK = 1 << 16;
    private final double beta1, beta2, eps, weightDecay;
    private long step;

    /** The reference's settings: β1 0.9, β2 0.999, ε 1e-8, weight decay 0. */
    public static AdamW reference() {
        return new AdamW(0.9, 0.999, 1e-8, 0.0);
    }

    /**
     * @throws IllegalArgumentException for β outside [0, 1), ε ≤ 0 or a negative weight decay
     */
    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        checkHyperParameters(beta1, beta2, eps, weightDecay);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /**
     * Checks AdamW's settings without allocating anything.
     *
     * @throws IllegalArgumentException for β outside [0, 1), ε ≤ 0 or a negative (or non-finite) weight decay
     */
    public static void checkHyperParameters(double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)
                || Double.isInfinite(eps) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("AdamW needs 0 <= beta1, beta2 < 1, eps > 0 and weight decay >= 0, got "
                    + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
        }
    }

    /**
     * The per-step constants of one update (step s, learning rate lr): the decay factor {@code 1 − lr·wd}, β1, β2,
     * {@code lr / (1 − β1ˢ)}, {@code √(1 − β2ˢ)} and ε.
     */
    public record Coefficients(double decay, double beta1, double beta2, double stepSize, double bc2Sqrt, double eps) {
    }

    /** Counts one more update and gives its coefficients at learning rate {@code lr}. */
    public Coefficients next(double lr) {
        step++;
        return new Coefficients(1 - lr * weightDecay, beta1, beta2, lr / (1 - Math.pow(beta1, step)),
                Math.sqrt(1 - Math.pow(beta2, step)), eps);
    }

    /**
     * One update of every trainable tensor of {@code model} from {@code grads}, with the moments {@code m} and
     * {@code v}, all in the checkpoint layout: {@link #updateRange} in parallel chunks of the common fork-join pool
     * (elements are independent, so results do not depend on the number of threads).
     *
     * @throws IllegalArgumentException when the tensors belong to different configs
     */
    public static void update(MxdModel model, ParameterTensors grads, ParameterTensors m, ParameterTensors v,
                              Coefficients c) {
        if (!grads.config().equals(model.config()) || !m.config().equals(model.config())
                || !v.config().equals(model.config())) {
            throw new IllegalArgumentException("AdamW: the model, gradients and moments are of different configs");
        }
        for (String name : m.names()) {
            MemorySegment p = model.tensor(name).data();
            MemorySegment g = grads.tensor(name).data();
            MemorySegment mm = m.tensor(name).data();
            MemorySegment vv = v.tensor(name).data();
            long n = p.byteSize() / 4;
            int chunks = (int) ((n + CHUNK - 1) / CHUNK);
            IntStream range = IntStream.range(0, chunks);
            (chunks > 1 ? range.parallel() : range).forEach(
                    k -> updateRange(p, g, mm, vv, (long) k * CHUNK, Math.min(n, (long) k * CHUNK + CHUNK), c));
        }
    }

    /**
     * The definition of the update, on elements [from, to): each in double, rounded once per stored value.
     */
    public static void updateRange(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from,
                                   long to, Coefficients c) {
        double beta1 = c.beta1(), beta2 = c.beta2();
        for (long i = from; i < to; i++) {
            double gi = g.getAtIndex(Tensor.F32_LE, i);
            float pi = (float) (p.getAtIndex(Tensor.F32_LE, i) * c.decay());
            float mi = (float) (beta1 * m.getAtIndex(Tensor.F32_LE, i) + (1 - beta1) * gi);
            float vi = (float) (beta2 * v.getAtIndex(Tensor.F32_LE, i) + (1 - beta2) * gi * gi);
            double denom = Math.sqrt(vi) / c.bc2Sqrt() + c.eps();
            m.setAtIndex(Tensor.F32_LE, i, mi);
            v.setAtIndex(Tensor.F32_LE, i, vi);
            p.setAtIndex(Tensor.F32_LE, i, (float) (pi - c.stepSize() * mi / denom));
        }
    }

    /** Updates taken so far. */
    public long steps() {
        return step;
    }

    /**
     * Restores a saved step count.
     *
     * @throws IllegalArgumentException for a negative count
     */
    public void restoreSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("AdamW step count must be >= 0, got " + steps);
        }
        this.step = steps;
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double eps() {
        return eps;
    }

    public double weightDecay() {
        return weightDecay;
    }
}
