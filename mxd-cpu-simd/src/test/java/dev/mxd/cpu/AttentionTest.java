package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Attention against the double-precision definition, over sequences of several lengths (1 included). */
class AttentionTest {

    @Test
    void matchesTheDoubleDefinition() {
        SplittableRandom r = new SplittableRandom(21);
        int heads = 3, d = 5, width = heads * d;
        int[] starts = {0, 1, 18, 18, 55};
        int rows = starts[starts.length - 1];
        float[] qkv = KernelsTest.random(r, rows * 3 * width);
        for (int i = 0; i < qkv.length; i++) {
            qkv[i] *= 4;
        }
        float[] context = new float[rows * width];
        Arrays.fill(context, Float.NaN);
        float divisor = (float) Math.sqrt(d);
        Attention.selfAttention(qkv, starts, heads, d, divisor, context);
        for (int s = 0; s + 1 < starts.length; s++) {
            int row0 = starts[s], n = starts[s + 1] - row0;
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    double[] p = new double[n];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < n; j++) {
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) qkv[(row0 + i) * 3 * width + h * d + c]
                                    * qkv[(row0 + j) * 3 * width + width + h * d + c];
                        }
                        p[j] = dot / divisor;
                        max = Math.max(max, p[j]);
                    }
                    for (int j = 0; j < n; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int c = 0; c < d; c++) {
                        double want = 0, scale = 0;
                        for (int j = 0; j < n; j++) {
                            double v = qkv[(row0 + j) * 3 * width + 2 * width + h * d + c];
                            want += p[j] / sum * v;
                            scale += Math.abs(p[j] / sum * v);
                        }
                        float got = context[(row0 + i) * width + h * d + c];
                        assertTrue(Math.abs(got - want) <= 1e-5 * scale + 1e-30, "sequence " + s + ", head " + h
                                + ", row " + i + ", dim " + c + ": " + got + ", exact " + want);
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsAreNamed() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Attention.selfAttention(new float[17], new int[] {0, 2}, 1, 3, 1f, new float[6]));
        assertTrue(e.getMessage().contains("qkv [2, 9]"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> Attention.selfAttention(new float[18], new int[] {0, 2, 1}, 1, 3, 1f, new float[6]));
        assertTrue(e2.getMessage().contains("must not decrease"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class,
                () -> Attention.selfAttention(new float[18], new int[] {1, 2}, 1, 3, 1f, new float[6]));
        assertTrue(e3.getMessage().contains("begin with 0"), e3.getMessage());
    }
}
