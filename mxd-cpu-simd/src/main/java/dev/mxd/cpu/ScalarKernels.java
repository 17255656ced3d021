package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import java.lang.foreign.MemorySegment;

/**
 * Plain Java kernels ({@code -Dmxd.simd.bits=0}): the portable path, and the second implementation the parity
 * suite runs. The micro-kernel takes the same fused multiply-adds in the same order as the vector one, so both
 * give the same GEMM results; activations go through the double-precision definition.
 */
final class ScalarKernels extends Kernels {
    private static final int MR = 4;
    private static final int NR = 4;

    ScalarKernels() {
        super(MR, NR);
    }

    @Override
    String describe() {
        return "scalar (" + BITS_PROPERTY + "=0), " + MR + "x" + NR + " register block";
    }

    @Override
    void microKernel(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc) {
        for (int k = 0; k < kc; k++, ao += MR, bo += NR) {
            for (int i = 0; i < MR; i++) {
                float ai = a[ao + i];
                int ci = co + i * ldc;
                for (int j = 0; j < NR; j++) {
                    c[ci + j] = Math.fma(ai, b[bo + j], c[ci + j]);
                }
            }
        }
    }

    @Override
    void add(float[] v, int vo, float[] s, int so, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] += s[so + i];
        }
    }

    @Override
    void multiply(float[] v, int vo, float[] s, int so, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] *= s[so + i];
        }
    }

    @Override
    void axpy(float alpha, float[] s, int so, float[] v, int vo, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] = Math.fma(alpha, s[so + i], v[vo + i]);
        }
    }

    @Override
    void activate(Activation act, float[] v, int vo, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] = (float) act.apply(v[vo + i]);
        }
    }

    @Override
    void geluKeepingCdf(float[] v, int vo, float[] cdf, int co, int n) {
        System.arraycopy(v, vo, cdf, co, n);
        normalCdf(cdf, co, n);
        activate(Activation.GELU, v, vo, n);
    }

    @Override
    void gatedProduct(float[] g, int go, float[] d, float[] out, int oo, int n) {
        for (int i = 0; i < n; i++) {
            float x = g[go + i];
            out[oo + i] = x == 0f ? 0f : x * d[i];
        }
    }

    @Override
    void normalCdf(float[] v, int vo, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] = (float) (0.5 * (1.0 + Activation.erf(v[vo + i] / Math.sqrt(2.0))));
        }
    }

    @Override
    void exp(float[] v, int vo, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] = (float) Math.exp(v[vo + i]);
        }
    }

    @Override
    int nextSumAbove(float[] v, int vo, float[] s, int so, int from, int n, float threshold) {
        return firstSumAbove(v, vo, s, so, from, n, threshold);
    }

    /** {@link #nextSumAbove} one element at a time: this kernel set's body and the vector set's tail. */
    static int firstSumAbove(float[] v, int vo, float[] s, int so, int from, int n, float threshold) {
        for (int j = from; j < n; j++) {
            if (v[vo + j] + s[so + j] > threshold) {
                return j;
            }
        }
        return n;
    }

    /** A quickselect: median-of-three Hoare partitions, narrowed to the side that holds the m-th largest. */
    @Override
    long keepLargest(long[] a, int from, int n, int m) {
        int target = from + m - 1;
        int l = from;
        int r = from + n - 1;
        while (l < r) {
            int mid = (l + r) >>> 1;
            long x = a[l], y = a[mid], z = a[r];
            long pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
            int i = l;
            int j = r;
            while (i <= j) {
                while (a[i] > pivot) {
                    i++;
                }
                while (a[j] < pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            if (target <= j) {
                r = j;
            } else if (target >= i) {
                l = i;
            } else {
                break;
            }
        }
        return a[target];
    }

    @Override
    void shiftedRelu(float[] v, int vo, int n, float shift) {
        for (int i = 0; i < n; i++) {
            float x = v[vo + i] + shift;
            v[vo + i] = x > 0 ? x : 0f;
        }
    }

    @Override
    float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    @Override
    void adamw(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from, long to,
               AdamW.Coefficients c) {
        AdamW.updateRange(p, g, m, v, from, to, c);
    }

    @Override
    void subtractScaled(float[] g, int go, double d, float[] w, int wo, int n) {
        for (int j = 0; j < n; j++) {
            g[go + j] = (float) (g[go + j] - d * w[wo + j]);
        }
    }
}
