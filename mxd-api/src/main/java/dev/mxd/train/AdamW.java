package dev.mxd.train;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Map;
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
 * <p>Large tensors are updated in parallel chunks on the common fork-join pool; every element's arithmetic is the
 * same as in a sequential pass, so results do not depend on the number of threads.
 *
 * <p>Ownership: this object owns its two moment buffers; {@link #close()} frees them.
 */
public final class AdamW implements AutoCloseable {
    /** Elements per parallel task: large enough that the fork-join overhead vanishes. */
    private static final int CHUNK = 1 << 16;
    private final double beta1, beta2, eps, weightDecay;
    private final ParameterTensors m;
    private final ParameterTensors v;
    private long step;

    /** The reference's settings: β1 0.9, β2 0.999, ε 1e-8, weight decay 0. */
    public static AdamW reference(MxdConfig config) {
        return new AdamW(config, 0.9, 0.999, 1e-8, 0.0);
    }

    /**
     * @throws IllegalArgumentException for β outside [0, 1), ε ≤ 0 or a negative weight decay
     */
    public AdamW(MxdConfig config, double beta1, double beta2, double eps, double weightDecay) {
        checkHyperParameters(beta1, beta2, eps, weightDecay);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = ParameterTensors.zeros(config);
        this.v = ParameterTensors.zeros(config);
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

    /**
     * The element-wise update of one tensor, elements [0, count) of flat F32 (little-endian) segments: the
     * parameters p, the gradient g and the moments m, v. An implementation must give results bit-identical to
     * {@link #updateRange} (a backend's vector code may replace it; resume and the tests rely on the arithmetic).
     */
    @FunctionalInterface
    public interface Update {
        void apply(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long count, Coefficients c);
    }

    /**
     * One update of every trainable tensor of {@code model} from {@code grads} at learning rate {@code lr}.
     *
     * @throws IllegalArgumentException when the gradients belong to another config
     */
    public void step(MxdModel model, ParameterTensors grads, double lr) {
        step(model, grads, lr, AdamW::updateInParallel);
    }

    /**
     * {@link #step(MxdModel, ParameterTensors, double)} with the element-wise arithmetic done by {@code update}.
     *
     * @throws IllegalArgumentException when the gradients belong to another config
     */
    public void step(MxdModel model, ParameterTensors grads, double lr, Update update) {
        if (!grads.config().equals(m.config()) || !model.config().equals(m.config())) {
            throw new IllegalArgumentException("AdamW was made for " + m.config() + ", got a model of "
                    + model.config() + " and gradients of " + grads.config());
        }
        step++;
        Coefficients c = new Coefficients(1 - lr * weightDecay, beta1, beta2, lr / (1 - Math.pow(beta1, step)),
                Math.sqrt(1 - Math.pow(beta2, step)), eps);
        for (String name : m.names()) {
            MemorySegment p = model.tensor(name).data();
            update.apply(p, grads.tensor(name).data(), m.tensor(name).data(), v.tensor(name).data(), p.byteSize() / 4, c);
        }
    }

    /** {@link #updateRange} over parallel chunks of the common fork-join pool (elements are independent). */
    private static void updateInParallel(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n,
                                         Coefficients c) {
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        IntStream range = IntStream.range(0, chunks);
        (chunks > 1 ? range.parallel() : range).forEach(
                k -> updateRange(p, g, m, v, (long) k * CHUNK, Math.min(n, (long) k * CHUNK + CHUNK), c));
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

    /** The first moments, one tensor per trainable parameter (owned by this optimiser). */
    public ParameterTensors firstMoments() {
        return m;
    }

    /** The second moments, one tensor per trainable parameter (owned by this optimiser). */
    public ParameterTensors secondMoments() {
        return v;
    }

    /**
     * Restores a saved state: the step count and both moments (copied).
     *
     * @throws IllegalArgumentException for a negative step or tensors of another config
     */
    public void restore(long steps, Map<String, Tensor> firstMoments, Map<String, Tensor> secondMoments) {
        if (steps < 0) {
            throw new IllegalArgumentException("AdamW step count must be >= 0, got " + steps);
        }
        copy(firstMoments, m, "adam_m");
        copy(secondMoments, v, "adam_v");
        this.step = steps;
    }

    private static void copy(Map<String, Tensor> from, ParameterTensors to, String what) {
        for (String name : to.names()) {
            Tensor src = from.get(name);
            Tensor dst = to.tensor(name);
            if (src == null || !src.hasShape(dst.shape()) || src.dtype() != dst.dtype()) {
                throw new IllegalArgumentException(what + " of '" + name + "' must be " + dst + ", got "
                        + (src == null ? "none" : src.toString()));
            }
        }
        for (String name : to.names()) {
            MemorySegment.copy(from.get(name).data(), 0, to.tensor(name).data(), 0, to.tensor(name).data().byteSize());
        }
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

    @Override
    public void close() {
        m.close();
        v.close();
    }
}
