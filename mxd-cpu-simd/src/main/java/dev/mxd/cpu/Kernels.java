package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.train.AdamW;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * The arithmetic the cpu backend is built from, in two implementations: {@link ScalarKernels} (plain Java,
 * {@code -Dmxd.simd.bits=0}) and {@code VectorKernels} (the Vector API). Packing, blocking, epilogues, TopK
 * and threading are written once, above this class, against these few operations.
 *
 * <p>This class must not link against {@code jdk.incubator.vector}: it decides whether that module can be
 * used before {@code VectorKernels} is ever loaded.
 */
abstract class Kernels {
    /** {@code -Dmxd.simd.bits=0|128|256|512}: force a vector width (0 = scalar). */
    static final String BITS_PROPERTY = "mxd.simd.bits";
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    /** The exact JVM flag that makes the Vector API readable. */
    static final String ADD_MODULES_FLAG = "--add-modules " + VECTOR_MODULE;

    /** The requested width, read once: -1 for the machine's preferred width, else 0, 128, 256 or 512. */
    static final int REQUESTED_BITS;
    /** Why no kernels can be made here, or null. */
    private static final String PROBLEM;

    static {
        String raw = System.getProperty(BITS_PROPERTY);
        int bits = -1;
        String problem = null;
        if (raw != null && !raw.isBlank()) {
            bits = switch (raw.trim()) {
                case "0" -> 0;
                case "128" -> 128;
                case "256" -> 256;
                case "512" -> 512;
                default -> Integer.MIN_VALUE;
            };
            if (bits == Integer.MIN_VALUE) {
                problem = "-D" + BITS_PROPERTY + "=" + raw + " is not one of 0 (scalar), 128, 256, 512";
            }
        }
        if (problem == null && bits != 0 && !vectorModuleReadable()) {
            problem = "the Vector API module " + VECTOR_MODULE + " is not readable: add " + ADD_MODULES_FLAG
                    + " to the JVM flags (or -D" + BITS_PROPERTY + "=0 for the slow scalar path)";
        }
        REQUESTED_BITS = bits;
        PROBLEM = problem;
    }

    /** Rows of the micro-kernel's register block; packed activation panels hold this many rows. */
    final int mr;
    /** Columns of the micro-kernel's register block; packed weight panels hold this many columns. */
    final int nr;

    Kernels(int mr, int nr) {
        this.mr = mr;
        this.nr = nr;
    }

    /** Why kernels cannot be made in this JVM (bad property, missing module), or empty. */
    static Optional<String> problem() {
        return Optional.ofNullable(PROBLEM);
    }

    /**
     * The kernels this JVM uses, chosen once.
     *
     * @throws IllegalStateException with {@link #problem()} when there are none
     */
    static Kernels get() {
        if (PROBLEM != null) {
            throw new IllegalStateException(PROBLEM);
        }
        return Holder.KERNELS;
    }

    /** The device in words, e.g. "Vector API 512-bit (16 float lanes), 12x32 register block". */
    abstract String describe();

    /**
     * The micro-kernel: {@code c[co + i·ldc + j] += Σ_{k<kc} a[ao + k·mr + i] · b[bo + k·nr + j]} for
     * {@code i < mr}, {@code j < nr}, each sum taken in order of k with one fused multiply-add per step.
     * {@code a} is a packed row panel (k-major, mr floats per step), {@code b} a packed column panel (nr floats
     * per step), {@code c} a row-major tile with row stride {@code ldc}.
     */
    abstract void microKernel(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc);

    /** {@code v[vo + i] += s[so + i]} for {@code i < n}. */
    abstract void add(float[] v, int vo, float[] s, int so, int n);

    /** {@code v[vo + i] *= s[so + i]} for {@code i < n}. */
    abstract void multiply(float[] v, int vo, float[] s, int so, int n);

    /** {@code v[vo + i] = fma(alpha, s[so + i], v[vo + i])} for {@code i < n}. */
    abstract void axpy(float alpha, float[] s, int so, float[] v, int vo, int n);

    /**
     * {@code dst[dOff + j] += Σ_{i<count} scale[i] · table[rows[i]·ld + c0 + j]} for {@code j < cols}: exactly
     * {@link #axpy} of each scaled row in order of i (each element one chain of fused multiply-adds), with several
     * rows read together: a row of a large table comes from memory, and several rows in flight hide more of the
     * wait than one (the gather of K rows of C, a sparse gradient's rows).
     */
    void scaledRowSum(float[] table, int ld, int c0, int[] rows, float[] scale, int count, float[] dst, int dOff,
                      int cols) {
        for (int i = 0; i < count; i++) {
            axpy(scale[i], table, rows[i] * ld + c0, dst, dOff, cols);
        }
    }

    /** {@code v[vo + i] = act(v[vo + i])} for {@code i < n}, in float, within DESIGN §6 of the double definition. */
    abstract void activate(Activation act, float[] v, int vo, int n);

    /**
     * {@code v[vo + i] = Φ(v[vo + i])} for {@code i < n}, the standard normal distribution function (GELU's gate,
     * whose derivative {@code Φ(x) + x·φ(x)} the training backward needs), in float, within DESIGN §6 of the double
     * definition.
     */
    abstract void normalCdf(float[] v, int vo, int n);

    /**
     * {@code v[vo + i] = e^v[vo + i]} for {@code i < n}, in float, within a few ulp of the double exponential; 0 below
     * about −103.3, +∞ above about 88.7.
     */
    abstract void exp(float[] v, int vo, int n);

    /** 1/√(2π), the standard normal density at 0. */
    static final float INV_SQRT_2PI = 0.3989422804f;
    /** √(2/π) and the cubic coefficient of gelu_pytorch_tanh. */
    private static final float TANH_BETA = 0.7978845608f, TANH_KAPPA = 0.044715f;

    /**
     * {@code d[i] = act'(h[ho + i])} for {@code i < n}: the derivative as PyTorch's backward defines it (relu' =
     * [h &gt; 0]; GELU' = Φ(h) + h·φ(h); tanh GELU' = ½(1 + th) + ½h(1 − th²)·β(1 + 3κh²) with th = tanh(β(h + κh³)),
     * computed as s + 2h·s(1 − s)·β(1 + 3κh²) with s = sigmoid(2β(h + κh³)), free of the 1 ± th cancellation;
     * sigmoid' = s(1 − s); silu' = s(1 + h(1 − s))), in float on the vector kernels ({@link #normalCdf}, {@link #exp},
     * {@link #activate}), within DESIGN §6 of the double definition.
     *
     * @param scratch at least n floats, overwritten
     */
    void derivative(Activation act, float[] h, int ho, float[] d, float[] scratch, int n) {
        switch (act) {
            case RELU -> {
                for (int i = 0; i < n; i++) {
                    d[i] = h[ho + i] > 0f ? 1f : 0f;
                }
            }
            case GELU -> {
                System.arraycopy(h, ho, d, 0, n);
                normalCdf(d, 0, n);
                geluDerivativeFromCdf(h, ho, d, scratch, n);
            }
            case GELU_TANH -> {
                for (int i = 0; i < n; i++) {
                    float x = h[ho + i];
                    scratch[i] = 2f * TANH_BETA * (x + TANH_KAPPA * x * x * x);
                }
                activate(Activation.SIGMOID, scratch, 0, n);
                for (int i = 0; i < n; i++) {
                    float x = h[ho + i];
                    float sg = scratch[i];
                    d[i] = sg + 2f * x * sg * (1f - sg) * TANH_BETA * (1f + 3f * TANH_KAPPA * x * x);
                }
            }
            case SIGMOID, SILU -> {
                System.arraycopy(h, ho, scratch, 0, n);
                activate(Activation.SIGMOID, scratch, 0, n);
                for (int i = 0; i < n; i++) {
                    float s = scratch[i];
                    d[i] = act == Activation.SIGMOID ? s * (1f - s) : s * (1f + h[ho + i] * (1f - s));
                }
            }
        }
    }

    /**
     * GELU'(h) = Φ(h) + h·φ(h) for {@code i < n}, given {@code d[i] = Φ(h[ho + i])} as {@link #normalCdf} computes
     * it (e.g. kept by {@link #geluKeepingCdf} in the forward pass): the rest of {@link #derivative}'s GELU, so the
     * two agree bit for bit.
     *
     * @param scratch at least n floats, overwritten
     */
    void geluDerivativeFromCdf(float[] h, int ho, float[] d, float[] scratch, int n) {
        for (int i = 0; i < n; i++) {
            float x = h[ho + i];
            scratch[i] = -0.5f * x * x;
        }
        exp(scratch, 0, n);
        for (int i = 0; i < n; i++) {
            d[i] += h[ho + i] * scratch[i] * INV_SQRT_2PI;
        }
    }

    /**
     * {@code v = GELU(v)} exactly as {@link #activate} computes it, and {@code cdf[co + i] = Φ(v_i)} exactly as
     * {@link #normalCdf} does, for {@code i < n}: the forward pass of training keeps Φ so that the backward pass
     * need not compute it again ({@link #geluDerivativeFromCdf}).
     */
    abstract void geluKeepingCdf(float[] v, int vo, float[] cdf, int co, int n);

    /**
     * {@code out[oo + i] = g[go + i] · d[i]}, and +0 where {@code g[go + i]} is zero (whatever d is there): a
     * gradient through an element-wise derivative, a zero upstream gradient passing as an exact zero.
     */
    abstract void gatedProduct(float[] g, int go, float[] d, float[] out, int oo, int n);

    /**
     * The first {@code j} in [from, n) with {@code v[vo + j] + s[so + j] > threshold} (the float sum), else
     * {@code n}. NaN never qualifies. A score tile and its bias are scanned without writing the sums: all but a few
     * columns of a TopK's row are rejected here, and only those few are formed again.
     */
    abstract int nextSumAbove(float[] v, int vo, float[] s, int so, int from, int n, float threshold);

    /**
     * Reorders {@code a[from .. from + n)} so that its m largest come first, in any order, and returns the least of
     * them; nothing outside the range is written. The keys must be distinct (TopK's keys are: each holds its
     * index), so the m kept and the value returned do not depend on the implementation.
     */
    abstract long keepLargest(long[] a, int from, int n, int m);

    /** {@code v[vo + i] = relu(v[vo + i] + shift)} for {@code i < n}: the float sum, then relu as {@link #activate}. */
    abstract void shiftedRelu(float[] v, int vo, int n, float shift);

    /** {@code Σ a[ao + i]·b[bo + i]} for {@code i < n} in float; the order of the sum is the implementation's. */
    abstract float dot(float[] a, int ao, float[] b, int bo, int n);

    /**
     * {@code out[i] = dot(table, rows[i]·ld, b, bo, n)} for {@code i < count}, bit for bit, with several rows read
     * together (see {@link #scaledRowSum}).
     */
    void dotRows(float[] table, int ld, int[] rows, int count, float[] b, int bo, int n, float[] out) {
        for (int i = 0; i < count; i++) {
            out[i] = dot(table, rows[i] * ld, b, bo, n);
        }
    }

    /**
     * {@link #dotRows}{@code (table, ld, rows, count, b, bo, n, dots)} and then
     * {@link #scaledRowSum}{@code (table, ld, 0, rows, scale, count, dst, dOff, n)}, bit for bit, reading each row of
     * the table once for both where an implementation can (an expert's dm rows for its da and its dC row).
     * {@code dst} must not overlap {@code b}.
     */
    void dotRowsAndScaledRowSum(float[] table, int ld, int[] rows, int count, float[] b, int bo, int n, float[] dots,
                                float[] scale, float[] dst, int dOff) {
        dotRows(table, ld, rows, count, b, bo, n, dots);
        scaledRowSum(table, ld, 0, rows, scale, count, dst, dOff, n);
    }

    // Passes over parameters (F32 little-endian segments, element offsets). Each gives results bit-identical to the
    // backend-neutral definition it names: every element is computed alone in double, so vector lanes change nothing.

    /** {@link AdamW#updateRange} on elements [from, to). */
    abstract void adamw(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from, long to,
                        AdamW.Coefficients c);

    /**
     * {@code g[go + j] = (float) (g[go + j] − d·w[wo + j])} for {@code j < n}: a decoder row's gradient losing its
     * component parallel to the row ({@code DecoderNorm}).
     */
    abstract void subtractScaled(float[] g, int go, double d, float[] w, int wo, int n);

    private static boolean vectorModuleReadable() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE)
                .map(m -> Kernels.class.getModule().canRead(m))
                .orElse(false);
    }

    /** Creates the kernels on first use, after {@link #PROBLEM} ruled out a missing module. */
    private static final class Holder {
        static final Kernels KERNELS = REQUESTED_BITS == 0 ? new ScalarKernels() : VectorKernels.create();
    }
}
