package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Sgemm against a double-precision product, at sizes that cut every block, panel and tile somewhere. */
class SgemmTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    @Test
    void oddShapesMatchADoubleProduct() {
        int[][] shapes = {{1, 1, 1}, {3, 17, 5}, {13, 33, 1}, {100, 1, 385}, {37, 385, 100}, {385, 100, 17},
                {500, 70, 700}};
        SplittableRandom r = new SplittableRandom(4);
        for (int[] s : shapes) {
            // scratch arrays are reused between calls: leave NaN-filled ones behind, which must not leak into C
            for (int i = 0; i < 4; i++) {
                float[] junk = new float[(i + 1) * 50_000];
                java.util.Arrays.fill(junk, Float.NaN);
                FloatArrays.give(junk);
            }
            int m = s[0], n = s[1], k = s[2];
            float[] a = KernelsTest.random(r, m * k);
            float[] b = KernelsTest.random(r, k * n);
            float[] c = new float[m * n];
            java.util.Arrays.fill(c, Float.NaN);
            Sgemm.multiply(m, n, k, MemorySegment.ofArray(a), MemorySegment.ofArray(b), MemorySegment.ofArray(c));
            check(m, n, k, a, b, c);
        }
    }

    @Test
    void confinedAndOversizedSegmentsWork() {
        int m = 250, n = 90, k = 40;
        SplittableRandom r = new SplittableRandom(5);
        float[] a = KernelsTest.random(r, m * k);
        float[] b = KernelsTest.random(r, k * n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment as = arena.allocateFrom(F, a);
            MemorySegment bs = arena.allocateFrom(F, b);
            MemorySegment cs = arena.allocate((long) (m * n + 10) * Float.BYTES);
            cs.asSlice((long) m * n * Float.BYTES).fill((byte) 0x7F);
            Sgemm.multiply(m, n, k, as, bs, cs);
            check(m, n, k, a, b, cs.asSlice(0, (long) m * n * Float.BYTES).toArray(F));
            for (int i = m * n; i < m * n + 10; i++) {
                assertEquals(0x7F7F7F7F, cs.getAtIndex(ValueLayout.JAVA_INT, i), "past C: untouched");
            }
        }
    }

    @Test
    void emptyReductionZeroesC() {
        float[] c = {1, 2, 3, 4, 5, 6};
        Sgemm.multiply(2, 3, 0, MemorySegment.ofArray(new float[0]), MemorySegment.ofArray(new float[0]),
                MemorySegment.ofArray(c));
        assertEquals(0f, c[0]);
        assertEquals(0f, c[5]);
        Sgemm.multiply(0, 3, 4, MemorySegment.ofArray(new float[0]), MemorySegment.ofArray(new float[12]),
                MemorySegment.ofArray(new float[0]));
    }

    @Test
    void badArgumentsAreNamed() {
        MemorySegment s = MemorySegment.ofArray(new float[6]);
        var e = assertThrows(IllegalArgumentException.class, () -> Sgemm.multiply(2, 3, 4, s, s, s));
        assertTrue(e.getMessage().startsWith("A [2, 4]"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Sgemm.multiply(-1, 3, 4, s, s, s));
        assertTrue(e2.getMessage().contains("m = -1"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> Sgemm.multiply(2, 3, 1, s, s, s.asReadOnly()));
        assertTrue(e3.getMessage().contains("read-only"), e3.getMessage());
    }

    /** |c − a·b| ≤ 1e-6·Σ|a||b| per element: float rounding of k products, far below any indexing error. */
    private static void check(int m, int n, int k, float[] a, float[] b, float[] c) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = 0, scale = 0;
                for (int p = 0; p < k; p++) {
                    exact += (double) a[i * k + p] * b[p * n + j];
                    scale += Math.abs((double) a[i * k + p] * b[p * n + j]);
                }
                double err = Math.abs(c[i * n + j] - exact);
                assertTrue(err <= 1e-6 * scale + 1e-30, "[" + m + "x" + n + "x" + k + "] C[" + i + ", " + j + "] = "
                        + c[i * n + j] + ", exact " + exact);
            }
        }
    }
}
