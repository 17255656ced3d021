package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** PackedDense against the double-precision definition, at shapes that cut every block, panel and tile. */
class PackedDenseTest {

    @Test
    void biasAndActivationMatchTheDoubleDefinition() {
        int[][] shapes = {{1, 1, 1}, {3, 17, 5}, {13, 385, 33}, {200, 100, 70}, {385, 40, 129}};
        SplittableRandom r = new SplittableRandom(11);
        for (int[] s : shapes) {
            int rows = s[0], in = s[1], out = s[2];
            float[] x = KernelsTest.random(r, rows * in);
            float[] w = KernelsTest.random(r, in * out);
            float[] b = KernelsTest.random(r, out);
            for (Activation act : new Activation[] {null, Activation.GELU, Activation.RELU}) {
                PackedDense dense = PackedDense.of("dense", w, in, out, b, act);
                float[] y = new float[rows * out];
                Arrays.fill(y, Float.NaN);
                dense.apply(rows, x, y);
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < out; j++) {
                        double z = b[j], scale = Math.abs(b[j]);
                        for (int p = 0; p < in; p++) {
                            z += (double) x[i * in + p] * w[p * out + j];
                            scale += Math.abs((double) x[i * in + p] * w[p * out + j]);
                        }
                        double want = act == null ? z : act.apply(z);
                        double err = Math.abs(y[i * out + j] - want);
                        assertTrue(err <= 1e-6 * scale + 1e-6 * Math.abs(want) + 1e-30, act + " " + Arrays.toString(s)
                                + " y[" + i + ", " + j + "] = " + y[i * out + j] + ", exact " + want);
                    }
                }
            }
        }
    }

    @Test
    void withoutBiasOrActivationItIsSgemm() {
        SplittableRandom r = new SplittableRandom(12);
        int rows = 70, in = 48, out = 130;
        float[] x = KernelsTest.random(r, rows * in);
        float[] w = KernelsTest.random(r, in * out);
        float[] y = new float[rows * out];
        float[] c = new float[rows * out];
        PackedDense.of("plain", w, in, out, null, null).apply(rows, x, y);
        Sgemm.multiply(rows, out, in, MemorySegment.ofArray(x), MemorySegment.ofArray(w), MemorySegment.ofArray(c));
        assertArrayEquals(c, y);
    }
}
