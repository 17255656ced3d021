package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels over the Vector API: a 12-row by two-vector register block (12x32 floats at 512 bits, 12x16 at 256)
 * and vector versions of every activation. The species is a {@code static final} constant, read once from
 * {@code mxd.simd.bits} or the preferred shape, so C2 compiles every operation to machine vectors.
 *
 * <p>Only this class and {@link VectorTableRows}, which it calls, touch {@code jdk.incubator.vector}; {@link Kernels}
 * loads it only after checking that the module is readable.
 */
final class VectorKernels extends Kernels {
    private static final VectorOperators.Ternary FMA = VectorOperators.FMA;
    /** The float species every vector kernel uses, {@link VectorTableRows}' too. */
    static final VectorSpecies<Float> F = REQUESTED_BITS > 0
            ? VectorSpecies.of(float.class, VectorShape.forBitSize(REQUESTED_BITS))
            : FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Doubles of F's width, and floats of half that width: the same lane count, for float → double → float. */
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final VectorSpecies<Float> FH = VectorSpecies.of(float.class,
            VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final int DL = D.length();
    /** Longs of F's width: TopK's keys. */
    private static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final int LL = LS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * Rows of the register block: 24 accumulators, 2 column vectors and a broadcast fill 27 of the 32 vector
     * registers of AVX-512 (at 256 bits AVX-512VL machines have 32 too; a 16-register AVX2 machine spills).
     */
    private static final int MR = 12;

    // Φ(x) for GELU (see smooth): erf(u)/u = P(u²) for |u| < 1/2, and erfc(a) = t·exp(−a² + R(t − T_MID)) with
    // t = 1/(1 + a/2) above. Coefficients fitted for mxd (minimax by iterated weighted least squares against
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

    // exp (see smooth): e^r = 1 + r + r²·E(r) on |r| ≤ ln2/2, fitted like P and R, 3e-9 relative; ln 2 in two parts
    private static final float E2 = 0.49999994f, E3 = 0.16666521f, E4 = 0.04166839f, E5 = 0.00836871f,
            E6 = 0.0013814612f;
    private static final float LOG2E = 1.442695f;
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.4286068e-6f;
    /** 1.5·2²³: adding it rounds a float below 2²² to an integer held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    /** e^x is below half the smallest subnormal under −104 and overflows above 88.73; 89 still overflows. */
    private static final float EXP_LO = -104f, EXP_HI = 89f;

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
        combine(false, v, vo, s, so, n);
    }

    @Override
    void multiply(float[] v, int vo, float[] s, int so, int n) {
        combine(true, v, vo, s, so, n);
    }

    /**
     * {@code v = v × s} or {@code v = v + s} lane by lane. A flag rather than a {@code VectorOperators} argument:
     * an operator that is not a compile-time constant at the call is not intrinsified, and every vector would be
     * boxed on the heap.
     */
    private static void combine(boolean multiply, float[] v, int vo, float[] s, int so, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector a = FloatVector.fromArray(F, v, vo + i);
            FloatVector b = FloatVector.fromArray(F, s, so + i);
            (multiply ? a.mul(b) : a.add(b)).intoArray(v, vo + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector a = FloatVector.fromArray(F, v, vo + i, m);
            FloatVector b = FloatVector.fromArray(F, s, so + i, m);
            (multiply ? a.mul(b) : a.add(b)).intoArray(v, vo + i, m);
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
    void dotRows(float[] table, int ld, int[] rows, int count, float[] b, int bo, int n, float[] out) {
        VectorTableRows.dotRows(this, table, ld, rows, count, b, bo, n, out);
    }

    @Override
    void dotRowsAndScaledRowSum(float[] table, int ld, int[] rows, int count, float[] b, int bo, int n, float[] dots,
                                float[] scale, float[] dst, int dOff) {
        VectorTableRows.dotRowsAndScaledRowSum(this, table, ld, rows, count, b, bo, n, dots, scale, dst, dOff);
    }

    @Override
    void scaledRowSum(float[] table, int ld, int c0, int[] rows, float[] scale, int count, float[] dst, int dOff,
                      int cols) {
        VectorTableRows.scaledRowSum(this, table, ld, c0, rows, scale, count, dst, dOff, cols);
    }

    @Override
    int nextSumAbove(float[] v, int vo, float[] s, int so, int from, int n, float threshold) {
        int j = from;
        for (; j <= n - L; j += L) {
            long m = FloatVector.fromArray(F, v, vo + j).add(FloatVector.fromArray(F, s, so + j))
                    .compare(VectorOperators.GT, threshold).toLong();
            if (m != 0) {
                return j + Long.numberOfTrailingZeros(m);
            }
        }
        return ScalarKernels.firstSumAbove(v, vo, s, so, j, n, threshold);
    }

    /**
     * The m-th largest key found bit by bit from the top, each bit decided by counting the keys at or above a
     * candidate in vector lanes (stopping once exactly m are), then the keys at or above it compressed to the
     * front. A quickselect's partitions branch on every key and mispredict about half the time; here the work is
     * compares and counts, with no branch on a key (docs/PERFORMANCE.md has the figures).
     */
    @Override
    long keepLargest(long[] a, int from, int n, int m) {
        int end = from + n;
        int full = from + n / LL * LL;
        // offset-binary: unsigned order of (key ^ MIN_VALUE) is the signed order of key
        long prefix = 0;
        long threshold = Long.MIN_VALUE;
        for (int b = 63; b >= 0; b--) {
            long candidate = (prefix | (1L << b)) ^ Long.MIN_VALUE;
            int count = 0;
            for (int i = from; i < full; i += LL) {
                count += LongVector.fromArray(LS, a, i).compare(VectorOperators.GE, candidate).trueCount();
            }
            for (int i = full; i < end; i++) {
                count += a[i] >= candidate ? 1 : 0;
            }
            if (count >= m) {
                prefix |= 1L << b;
                threshold = candidate;
                if (count == m) {
                    break;
                }
            }
        }
        // writing at w <= i keeps every store (its unused lanes too) inside what has been read already
        int w = from;
        long least = Long.MAX_VALUE;
        for (int i = from; i < full; i += LL) {
            LongVector v = LongVector.fromArray(LS, a, i);
            VectorMask<Long> kept = v.compare(VectorOperators.GE, threshold);
            least = Math.min(least, v.reduceLanes(VectorOperators.MIN, kept));
            v.compress(kept).intoArray(a, w);
            w += kept.trueCount();
        }
        for (int i = full; i < end; i++) {
            if (a[i] >= threshold) {
                least = Math.min(least, a[i]);
                a[w++] = a[i];
            }
        }
        return least;
    }

    /** relu as {@link #relu}, of the float sum. */
    @Override
    void shiftedRelu(float[] v, int vo, int n, float shift) {
        FloatVector zero = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector x = FloatVector.fromArray(F, v, vo + i).add(shift);
            zero.blend(x, x.compare(VectorOperators.GT, 0f)).intoArray(v, vo + i);
        }
        for (; i < n; i++) {
            float x = v[vo + i] + shift;
            v[vo + i] = x > 0 ? x : 0f;
        }
    }

    @Override
    void exp(float[] v, int vo, int n) {
        smooth(null, false, v, vo, n);
    }

    @Override
    void normalCdf(float[] v, int vo, int n) {
        smooth(Activation.GELU, true, v, vo, n);
    }

    @Override
    void geluKeepingCdf(float[] v, int vo, float[] cdf, int co, int n) {
        smooth(Activation.GELU, false, v, vo, n, cdf, co);
    }

    /** The same operations as the scalar loops of {@link Kernels#geluDerivativeFromCdf}, lane by lane. */
    @Override
    void geluDerivativeFromCdf(float[] h, int ho, float[] d, float[] scratch, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector x = FloatVector.fromArray(F, h, ho + i);
            x.mul(-0.5f).mul(x).intoArray(scratch, i);
        }
        for (; i < n; i++) {
            float x = h[ho + i];
            scratch[i] = -0.5f * x * x;
        }
        exp(scratch, 0, n);
        i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, d, i).add(FloatVector.fromArray(F, h, ho + i)
                    .mul(FloatVector.fromArray(F, scratch, i)).mul(INV_SQRT_2PI)).intoArray(d, i);
        }
        for (; i < n; i++) {
            d[i] += h[ho + i] * scratch[i] * INV_SQRT_2PI;
        }
    }

    @Override
    void gatedProduct(float[] g, int go, float[] d, float[] out, int oo, int n) {
        FloatVector zero = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector x = FloatVector.fromArray(F, g, go + i);
            x.mul(FloatVector.fromArray(F, d, i)).blend(zero, x.compare(VectorOperators.EQ, 0f)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            float x = g[go + i];
            out[oo + i] = x == 0f ? 0f : x * d[i];
        }
    }

    @Override
    void activate(Activation act, float[] v, int vo, int n) {
        if (act == Activation.RELU) {
            relu(v, vo, n);
        } else {
            smooth(act, false, v, vo, n);
        }
    }

    /** max(x, 0) with −0 and NaN mapped to +0, as the double definition does. */
    private static void relu(float[] v, int vo, int n) {
        FloatVector zero = FloatVector.zero(F);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector x = FloatVector.fromArray(F, v, vo + i, m);
            zero.blend(x, x.compare(VectorOperators.GT, 0f)).intoArray(v, vo + i, m);
        }
    }

    /**
     * GELU, gelu_pytorch_tanh, sigmoid and silu, each through one exponential {@code e = exp(a + b)}, in forms that
     * avoid cancellation in the tails (DESIGN §6):
     * <ul>
     * <li>GELU: x·Φ(x), Φ = ½ + ½·erf(x/√2) for |x/√2| &lt; ½, else ½·erfc(|x|/√2) or 1 − that, with
     *     erfc(|x|/√2) = t·e, t = 1/(1 + |x|/(2√2)), a + b = −x²/2 + R(t − T_MID): x²/2 is taken from a 12-bit head
     *     h of |x| (so a = −h²/2 is exact) and the rest b, which keeps the far tail near 1e-7 relative;</li>
     * <li>sigmoid 1/(1 + e), silu x/(1 + e) with a = −x; gelu_pytorch_tanh ½x(1 + tanh w) = x/(1 + e) with
     *     a = −2w, free of the 1 + tanh cancellation (the rounding of 2w, about −40 at x = −7.5, leaves a few 1e-6
     *     relative error in that far tail, 1e-7 where |x| &lt; 3);</li>
     * <li>with {@code act} null, e itself with a = x: {@link #exp};</li>
     * <li>with {@code cdf} (and GELU), Φ(x) instead of x·Φ(x): {@link #normalCdf}.</li>
     * </ul>
     * The exponential is reduced to 2ⁿ·exp(r), r = a + b − n·ln2, |r| ≤ ln2/2, and uses +, ×, fma and bit
     * operations only: not {@code VectorOperators.EXP}, which C2 compiles to a vector math library while C1 and the
     * interpreter run a per-lane Java fallback that differs in the last bit, so results would depend on whether
     * the code was warm yet. 2ⁿ is built in two factors so that subnormal results and overflow come out right.
     *
     * <p>One loop with everything written out: a vector handed to or returned from a method C2 does not inline is
     * boxed on the heap, and helpers this size are not reliably inlined.
     */
    private static void smooth(Activation act, boolean cdf, float[] v, int vo, int n) {
        smooth(act, cdf, v, vo, n, null, 0);
    }

    /** {@link #smooth(Activation, boolean, float[], int, int)}, and for GELU Φ(x) into {@code keep[ko ..]} too. */
    private static void smooth(Activation act, boolean cdf, float[] v, int vo, int n, float[] keep, int ko) {
        boolean gelu = act == Activation.GELU;
        boolean tanh = act == Activation.GELU_TANH;
        boolean plain = act == null;
        boolean scaled = act != Activation.SIGMOID;
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector zero = FloatVector.zero(F);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector x = FloatVector.fromArray(F, v, vo + i, m);
            FloatVector a, b, t;
            if (gelu) {
                FloatVector ax = x.abs().min(X_CLAMP);
                t = one.div(ax.fma(0.5f * INV_SQRT2, 1f));
                FloatVector d = t.sub(T_MID);
                FloatVector r = d.fma(R9, R8).lanewise(FMA, d, R7).lanewise(FMA, d, R6).lanewise(FMA, d, R5)
                        .lanewise(FMA, d, R4).lanewise(FMA, d, R3).lanewise(FMA, d, R2).lanewise(FMA, d, R1)
                        .lanewise(FMA, d, R0);
                FloatVector head = ax.reinterpretAsInts().and(0xFFFFF000).reinterpretAsFloats();
                a = head.mul(head).mul(-0.5f);
                b = ax.sub(head).mul(ax.add(head)).lanewise(FMA, -0.5f, r);
            } else {
                FloatVector w = tanh ? x.mul(x).fma(0.044715f, 1f).mul(x).mul(2 * SQRT_2_OVER_PI) : x;
                a = (plain ? w : w.neg()).max(EXP_LO).min(EXP_HI);
                b = zero;
                t = one;
            }
            FloatVector k = a.add(b).fma(LOG2E, ROUND);
            FloatVector nk = k.sub(ROUND);
            FloatVector r = nk.lanewise(FMA, -LN2_HI, a);
            r = nk.lanewise(FMA, -LN2_LO, r).add(b);
            FloatVector p = r.fma(E6, E5).lanewise(FMA, r, E4).lanewise(FMA, r, E3).lanewise(FMA, r, E2);
            IntVector ni = k.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND));
            IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
            FloatVector e = r.mul(r).fma(p, r).add(1f)
                    .mul(half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .mul(ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            FloatVector y;
            if (gelu) {
                FloatVector u = x.mul(INV_SQRT2);
                FloatVector s = u.mul(u);
                FloatVector near = u.mul(s.fma(P5, P4).lanewise(FMA, s, P3).lanewise(FMA, s, P2)
                        .lanewise(FMA, s, P1).lanewise(FMA, s, P0)).fma(0.5f, 0.5f);
                FloatVector tail = t.mul(e).mul(0.5f);
                FloatVector phi = tail.blend(tail.neg().add(1f), x.compare(VectorOperators.GT, 0f))
                        .blend(near, u.abs().compare(VectorOperators.LT, SMALL_U));
                y = cdf ? phi : x.mul(phi);
                if (keep != null) {
                    phi.intoArray(keep, ko + i, m);
                }
            } else if (plain) {
                y = e;
            } else {
                FloatVector sig = one.div(e.add(1f));
                y = scaled ? x.mul(sig) : sig;
            }
            y.intoArray(v, vo + i, m);
        }
    }

    @Override
    float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            acc = FloatVector.fromArray(F, a, ao + i, m).fma(FloatVector.fromArray(F, b, bo + i, m), acc);
        }
        // Lanes summed in a fixed order: reduceLanes(ADD) may associate differently once C2 has compiled it, and
        // the result would depend on how warm the code was.
        float s = 0f;
        for (int j = 0; j < L; j++) {
            s += acc.lane(j);
        }
        return s;
    }

    /** Elements [at, at + DL) of an F32 segment as doubles. */
    private static DoubleVector wide(MemorySegment s, long at) {
        return (DoubleVector) FloatVector.fromMemorySegment(FH, s, at * Float.BYTES, LE).convertShape(VectorOperators.F2D, D, 0);
    }

    /** Rounds to float, as a cast does. */
    private static FloatVector narrow(DoubleVector v) {
        return (FloatVector) v.convertShape(VectorOperators.D2F, FH, 0);
    }

    private static DoubleVector widen(FloatVector v) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
    }

    /**
     * {@link AdamW#updateRange}, DL elements at a time, each with the same double operations in the same order (no
     * fused multiply-add, which would round differently).
     */
    @Override
    void adamw(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from, long to,
               AdamW.Coefficients c) {
        double b1 = c.beta1(), b2 = c.beta2(), oneMinusB1 = 1 - b1, oneMinusB2 = 1 - b2;
        long i = from;
        for (; i <= to - DL; i += DL) {
            DoubleVector gi = wide(g, i);
            FloatVector pi = narrow(wide(p, i).mul(c.decay()));
            FloatVector mi = narrow(wide(m, i).mul(b1).add(gi.mul(oneMinusB1)));
            FloatVector vi = narrow(wide(v, i).mul(b2).add(gi.mul(oneMinusB2).mul(gi)));
            DoubleVector denom = widen(vi).sqrt().div(c.bc2Sqrt()).add(c.eps());
            long bytes = i * Float.BYTES;
            mi.intoMemorySegment(m, bytes, LE);
            vi.intoMemorySegment(v, bytes, LE);
            narrow(widen(pi).sub(widen(mi).mul(c.stepSize()).div(denom))).intoMemorySegment(p, bytes, LE);
        }
        AdamW.updateRange(p, g, m, v, i, to, c);
    }

    @Override
    void subtractScaled(float[] g, int go, double d, float[] w, int wo, int n) {
        int j = 0;
        for (; j <= n - DL; j += DL) {
            DoubleVector gj = widen(FloatVector.fromArray(FH, g, go + j));
            DoubleVector wj = widen(FloatVector.fromArray(FH, w, wo + j));
            narrow(gj.sub(wj.mul(d))).intoArray(g, go + j);
        }
        for (; j < n; j++) {
            g[go + j] = (float) (g[go + j] - d * w[wo + j]);
        }
    }
}
