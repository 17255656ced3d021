package dev.mxd.cpu;

import dev.mxd.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels over the Vector API: a 12-row by two-vector register block (12x32 floats at 512 bits, 12x16 at 256)
 * and vector versions of every activation. The species is a {@code static final} constant, read once from
 * {@code mxd.simd.bits} or the preferred shape, so C2 compiles every operation to machine vectors.
 *
 * <p>Only this class touches {@code jdk.incubator.vector}; {@link Kernels} loads it only after checking that
 * the module is readable.
 */
final class VectorKernels extends Kernels {
    private static final VectorSpecies<Float> F = REQUESTED_BITS > 0
            ? VectorSpecies.of(float.class, VectorShape.forBitSize(REQUESTED_BITS))
            : FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /**
     * Rows of the register block: 24 accumulators, 2 column vectors and a broadcast fill 27 of the 32 vector
     * registers of AVX-512 (at 256 bits AVX-512VL machines have 32 too; a 16-register AVX2 machine spills).
     */
    private static final int MR = 12;

    // Φ(x) for GELU (see phi): erf(u)/u = P(u²) for |u| < 1/2, and erfc(a) = t·exp(−a² + R(t − T_MID)) with
    // t = 1/(1 + a/2) above. Coefficients fitted here (minimax by iterated weighted least squares against
    // mpmath): P to 1.2e-11 relative on [0, 1/2], R to 1e-9 absolute for a in [1/2, 10].
    private static final float P0 = 1.1283792f, P1 = -0.37612638f, P2 = 0.11283774f, P3 = -0.02686312f,
            P4 = 0.0052003083f, P5 = -0.0007692853f;
    private static final float R0 = -0.6941612f, R1 = 1.3386644f, R2 = 0.20785518f, R3 = -0.36385304f,
            R4 = -0.180972f, R5 = 0.26897714f, R6 = 0.14702387f, R7 = -0.28214252f, R8 = -0.08991379f,
            R9 = 0.25664648f;
    private static final float T_MID = 0.48333332f;
    private static final float SMALL_U = 0.5f;
    private static final float INV_SQRT2 = 0.70710678f;
    /** Beyond |x| = 10·√2 the tail of Φ is below float's smallest normal; clamping keeps exp finite. */
    private static final float X_CLAMP = 14.142135f;
    private static final float SQRT_2_OVER_PI = 0.7978845608f;

    private VectorKernels() {
        super(MR, 2 * L);
    }

    static Kernels create() {
        return new VectorKernels();
    }

    @Override
    String describe() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        String forced = REQUESTED_BITS > 0 ? ", forced by " + BITS_PROPERTY : "";
        String slow = F.vectorBitSize() > preferred
                ? " (wider than this CPU's " + preferred + "-bit vectors: emulated, slow)" : "";
        return "Vector API " + F.vectorBitSize() + "-bit (" + L + " float lanes" + forced + ")" + slow + ", "
                + MR + "x" + 2 * L + " register block";
    }

    /**
     * The register-blocked product of {@link Kernels#microKernel}. Kept to one loop over k with the loads, FMAs and
     * stores written out, small enough that C1 compiles it and C2 turns it into 24 register accumulators.
     */
    @Override
    void microKernel(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc) {
        FloatVector c0a = FloatVector.fromArray(F, c, co), c0b = FloatVector.fromArray(F, c, co + L);
        FloatVector c1a = FloatVector.fromArray(F, c, co + 1 * ldc), c1b = FloatVector.fromArray(F, c, co + 1 * ldc + L);
        FloatVector c2a = FloatVector.fromArray(F, c, co + 2 * ldc), c2b = FloatVector.fromArray(F, c, co + 2 * ldc + L);
        FloatVector c3a = FloatVector.fromArray(F, c, co + 3 * ldc), c3b = FloatVector.fromArray(F, c, co + 3 * ldc + L);
        FloatVector c4a = FloatVector.fromArray(F, c, co + 4 * ldc), c4b = FloatVector.fromArray(F, c, co + 4 * ldc + L);
        FloatVector c5a = FloatVector.fromArray(F, c, co + 5 * ldc), c5b = FloatVector.fromArray(F, c, co + 5 * ldc + L);
        FloatVector c6a = FloatVector.fromArray(F, c, co + 6 * ldc), c6b = FloatVector.fromArray(F, c, co + 6 * ldc + L);
        FloatVector c7a = FloatVector.fromArray(F, c, co + 7 * ldc), c7b = FloatVector.fromArray(F, c, co + 7 * ldc + L);
        FloatVector c8a = FloatVector.fromArray(F, c, co + 8 * ldc), c8b = FloatVector.fromArray(F, c, co + 8 * ldc + L);
        FloatVector c9a = FloatVector.fromArray(F, c, co + 9 * ldc), c9b = FloatVector.fromArray(F, c, co + 9 * ldc + L);
        FloatVector c10a = FloatVector.fromArray(F, c, co + 10 * ldc), c10b = FloatVector.fromArray(F, c, co + 10 * ldc + L);
        FloatVector c11a = FloatVector.fromArray(F, c, co + 11 * ldc), c11b = FloatVector.fromArray(F, c, co + 11 * ldc + L);
        for (int k = 0; k < kc; k++, ao += MR, bo += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(F, b, bo);
            FloatVector b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ao]); c0a = x.fma(b0, c0a); c0b = x.fma(b1, c0b);
            x = FloatVector.broadcast(F, a[ao + 1]); c1a = x.fma(b0, c1a); c1b = x.fma(b1, c1b);
            x = FloatVector.broadcast(F, a[ao + 2]); c2a = x.fma(b0, c2a); c2b = x.fma(b1, c2b);
            x = FloatVector.broadcast(F, a[ao + 3]); c3a = x.fma(b0, c3a); c3b = x.fma(b1, c3b);
            x = FloatVector.broadcast(F, a[ao + 4]); c4a = x.fma(b0, c4a); c4b = x.fma(b1, c4b);
            x = FloatVector.broadcast(F, a[ao + 5]); c5a = x.fma(b0, c5a); c5b = x.fma(b1, c5b);
            x = FloatVector.broadcast(F, a[ao + 6]); c6a = x.fma(b0, c6a); c6b = x.fma(b1, c6b);
            x = FloatVector.broadcast(F, a[ao + 7]); c7a = x.fma(b0, c7a); c7b = x.fma(b1, c7b);
            x = FloatVector.broadcast(F, a[ao + 8]); c8a = x.fma(b0, c8a); c8b = x.fma(b1, c8b);
            x = FloatVector.broadcast(F, a[ao + 9]); c9a = x.fma(b0, c9a); c9b = x.fma(b1, c9b);
            x = FloatVector.broadcast(F, a[ao + 10]); c10a = x.fma(b0, c10a); c10b = x.fma(b1, c10b);
            x = FloatVector.broadcast(F, a[ao + 11]); c11a = x.fma(b0, c11a); c11b = x.fma(b1, c11b);
        }
        c0a.intoArray(c, co); c0b.intoArray(c, co + L);
        c1a.intoArray(c, co + 1 * ldc); c1b.intoArray(c, co + 1 * ldc + L);
        c2a.intoArray(c, co + 2 * ldc); c2b.intoArray(c, co + 2 * ldc + L);
        c3a.intoArray(c, co + 3 * ldc); c3b.intoArray(c, co + 3 * ldc + L);
        c4a.intoArray(c, co + 4 * ldc); c4b.intoArray(c, co + 4 * ldc + L);
        c5a.intoArray(c, co + 5 * ldc); c5b.intoArray(c, co + 5 * ldc + L);
        c6a.intoArray(c, co + 6 * ldc); c6b.intoArray(c, co + 6 * ldc + L);
        c7a.intoArray(c, co + 7 * ldc); c7b.intoArray(c, co + 7 * ldc + L);
        c8a.intoArray(c, co + 8 * ldc); c8b.intoArray(c, co + 8 * ldc + L);
        c9a.intoArray(c, co + 9 * ldc); c9b.intoArray(c, co + 9 * ldc + L);
        c10a.intoArray(c, co + 10 * ldc); c10b.intoArray(c, co + 10 * ldc + L);
        c11a.intoArray(c, co + 11 * ldc); c11b.intoArray(c, co + 11 * ldc + L);
    }

    @Override
    void add(float[] v, int vo, float[] s, int so, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, v, vo + i).add(FloatVector.fromArray(F, s, so + i)).intoArray(v, vo + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, v, vo + i, m).add(FloatVector.fromArray(F, s, so + i, m)).intoArray(v, vo + i, m);
        }
    }

    @Override
    void multiply(float[] v, int vo, float[] s, int so, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, v, vo + i).mul(FloatVector.fromArray(F, s, so + i)).intoArray(v, vo + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, v, vo + i, m).mul(FloatVector.fromArray(F, s, so + i, m)).intoArray(v, vo + i, m);
        }
    }

    @Override
    void axpy(float alpha, float[] s, int so, float[] v, int vo, int n) {
        FloatVector av = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            av.fma(FloatVector.fromArray(F, s, so + i), FloatVector.fromArray(F, v, vo + i)).intoArray(v, vo + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            av.fma(FloatVector.fromArray(F, s, so + i, m), FloatVector.fromArray(F, v, vo + i, m)).intoArray(v, vo + i, m);
        }
    }

    @Override
    void activate(Activation act, float[] v, int vo, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            apply(act, FloatVector.fromArray(F, v, vo + i)).intoArray(v, vo + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            apply(act, FloatVector.fromArray(F, v, vo + i, m)).intoArray(v, vo + i, m);
        }
    }

    @Override
    int nextGreater(float[] v, int from, int to, float threshold) {
        int i = from;
        for (; i <= to - L; i += L) {
            VectorMask<Float> m = FloatVector.fromArray(F, v, i).compare(VectorOperators.GT, threshold);
            if (m.anyTrue()) {
                return i + m.firstTrue();
            }
        }
        for (; i < to; i++) {
            if (v[i] > threshold) {
                return i;
            }
        }
        return to;
    }

    /** One vector of {@code act(x)}; every formula avoids cancellation in the tails (DESIGN §6). */
    static FloatVector apply(Activation act, FloatVector x) {
        return switch (act) {
            case RELU -> relu(x);
            case GELU -> x.mul(phi(x));
            // ½x(1 + tanh w) = x·sigmoid(2w): no 1 + tanh cancellation for negative x
            case GELU_TANH -> x.div(expNeg(x.mul(x).fma(0.044715f, 1f).mul(x).mul(2 * SQRT_2_OVER_PI)).add(1f));
            case SIGMOID -> one().div(expNeg(x).add(1f));
            case SILU -> x.div(expNeg(x).add(1f));
        };
    }

    /** max(x, 0) with −0 and NaN mapped to +0, as the double definition does. */
    private static FloatVector relu(FloatVector x) {
        FloatVector zero = FloatVector.zero(F);
        return zero.blend(x, x.compare(VectorOperators.GT, 0f));
    }

    /** One Horner step, {@code p·x + c}, with a single rounding. */
    private static FloatVector horner(FloatVector p, FloatVector x, float c) {
        return p.fma(x, FloatVector.broadcast(F, c));
    }

    private static FloatVector one() {
        return FloatVector.broadcast(F, 1f);
    }

    private static FloatVector expNeg(FloatVector x) {
        return x.neg().lanewise(VectorOperators.EXP);
    }

    /**
     * The normal CDF Φ(x) = ½·erfc(−x/√2) to a few float ulps over the whole range. Near 0 it is ½ + ½·erf(u);
     * elsewhere it comes from erfc(a), a = |x|/√2, as a product of two exponentials: x is split into a 12-bit head
     * h (so h² and the exponent −h²/2 are exact) and the rest, which keeps the relative error of the far tails
     * near 1e-7 instead of growing with x².
     */
    static FloatVector phi(FloatVector x) {
        FloatVector ax = x.abs().min(X_CLAMP);
        FloatVector u = x.mul(INV_SQRT2);
        FloatVector s = u.mul(u);
        FloatVector erfSmall = u.mul(horner(horner(horner(horner(s.fma(P5, P4), s, P3), s, P2), s, P1), s, P0));
        FloatVector near = erfSmall.fma(0.5f, 0.5f);

        FloatVector a = ax.mul(INV_SQRT2);
        FloatVector t = one().div(a.fma(0.5f, 1f));
        FloatVector d = t.sub(T_MID);
        FloatVector r = d.fma(R9, R8);
        r = horner(horner(horner(horner(r, d, R7), d, R6), d, R5), d, R4);
        r = horner(horner(horner(horner(r, d, R3), d, R2), d, R1), d, R0);
        FloatVector head = ax.reinterpretAsInts().and(0xFFFFF000).reinterpretAsFloats();
        FloatVector rest = ax.sub(head).mul(ax.add(head)).mul(-0.5f);
        FloatVector e = head.mul(head).mul(-0.5f).lanewise(VectorOperators.EXP)
                .mul(rest.add(r).lanewise(VectorOperators.EXP));
        FloatVector half = t.mul(e).mul(0.5f);
        FloatVector far = half.blend(half.neg().add(1f), x.compare(VectorOperators.GT, 0f));
        return far.blend(near, u.abs().compare(VectorOperators.LT, SMALL_U));
    }
}
