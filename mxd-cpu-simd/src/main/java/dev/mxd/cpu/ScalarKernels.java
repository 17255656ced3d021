package dev.mxd.cpu;

import dev.mxd.Activation;

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
    void exp(float[] v, int vo, int n) {
        for (int i = 0; i < n; i++) {
            v[vo + i] = (float) Math.exp(v[vo + i]);
        }
    }

    @Override
    int nextGreater(float[] v, int from, int to, float threshold) {
        for (int i = from; i < to; i++) {
            if (v[i] > threshold) {
                return i;
            }
        }
        return to;
    }
}
