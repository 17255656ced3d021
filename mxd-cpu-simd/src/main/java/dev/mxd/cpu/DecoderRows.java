package dev.mxd.cpu;

import dev.mxd.train.DecoderNorm;

/**
 * Row products over decoder rows held as rows (C [N, O] of an MxD, W_dec [H, O] of a TC), in the arithmetic of
 * {@link DecoderNorm}: each row's sum in double in order of o (products of floats are exact in double), so results
 * are bit-identical to it.
 */
final class DecoderRows {
    private DecoderRows() {
    }

    /**
     * {@code dots[d0 + j] = Σ_o (double) g[go + j·len + o]·w[wo + j·len + o]} for the {@code count} rows. Eight rows
     * go together, their eight chains of additions overlapping; the order within each row is kept.
     */
    static void products(float[] g, int go, float[] w, int wo, int len, int count, double[] dots, int d0) {
        int j = 0;
        for (; j + 8 <= count; j += 8) {
            int g0 = go + j * len, w0 = wo + j * len;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (int o = 0; o < len; o++) {
                s0 += (double) g[g0 + o] * w[w0 + o];
                s1 += (double) g[g0 + len + o] * w[w0 + len + o];
                s2 += (double) g[g0 + 2 * len + o] * w[w0 + 2 * len + o];
                s3 += (double) g[g0 + 3 * len + o] * w[w0 + 3 * len + o];
                s4 += (double) g[g0 + 4 * len + o] * w[w0 + 4 * len + o];
                s5 += (double) g[g0 + 5 * len + o] * w[w0 + 5 * len + o];
                s6 += (double) g[g0 + 6 * len + o] * w[w0 + 6 * len + o];
                s7 += (double) g[g0 + 7 * len + o] * w[w0 + 7 * len + o];
            }
            dots[d0 + j] = s0;
            dots[d0 + j + 1] = s1;
            dots[d0 + j + 2] = s2;
            dots[d0 + j + 3] = s3;
            dots[d0 + j + 4] = s4;
            dots[d0 + j + 5] = s5;
            dots[d0 + j + 6] = s6;
            dots[d0 + j + 7] = s7;
        }
        for (; j < count; j++) {
            double s = 0;
            for (int o = 0, g0 = go + j * len, w0 = wo + j * len; o < len; o++) {
                s += (double) g[g0 + o] * w[w0 + o];
            }
            dots[d0 + j] = s;
        }
    }

    /**
     * {@link DecoderNorm#removeParallelGradient} on {@code count} gradient rows at {@code g[go ..]} against the rows
     * at {@code w[wo ..]}: {@code grad −= (grad·row)·row}, a row whose dot is zero left as it is.
     *
     * @param dots scratch of at least {@code count} doubles
     */
    static void project(Kernels kern, float[] g, int go, float[] w, int wo, int len, int count, double[] dots) {
        products(g, go, w, wo, len, count, dots, 0);
        for (int j = 0; j < count; j++) {
            if (dots[j] != 0) {
                kern.subtractScaled(g, go + j * len, dots[j], w, wo + j * len, len);
            }
        }
    }
}
