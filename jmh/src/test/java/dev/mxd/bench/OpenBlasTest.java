package dev.mxd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The FFM binding of cblas_sgemm, and the check that guards every timed GEMM. */
class OpenBlasTest {
    private static OpenBlas blas;

    @BeforeAll
    static void load() {
        try {
            blas = OpenBlas.get();
        } catch (IllegalStateException e) {
            blas = null;
            // Only a machine without the library may skip; the message must say what to install.
            assertTrue(e.getMessage().contains("libopenblas0-pthread"), e.getMessage());
        }
    }

    @Test
    void multipliesRectangularRowMajorMatrices() {
        assumeTrue(blas != null, "OpenBLAS is not installed");
        int m = 7, n = 13, k = 5; // sizes that fit no kernel tile, so the edge code runs too
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) m * k * 4, 64);
            MemorySegment b = arena.allocate((long) k * n * 4, 64);
            MemorySegment c = arena.allocate((long) m * n * 4, 64);
            for (int i = 0; i < m * k; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, i % 5 - 2);
            }
            for (int i = 0; i < k * n; i++) {
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, i % 3 - 1.5f);
            }
            c.fill((byte) 0x7f); // garbage that beta = 0 must overwrite
            blas.sgemm(m, n, k, a, b, c);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float expected = 0;
                    for (int p = 0; p < k; p++) {
                        expected += a.getAtIndex(ValueLayout.JAVA_FLOAT, i * k + p)
                                * b.getAtIndex(ValueLayout.JAVA_FLOAT, p * n + j);
                    }
                    // Small integers and halves: every sum is exact in float32.
                    assertEquals(expected, c.getAtIndex(ValueLayout.JAVA_FLOAT, i * n + j), "c[" + i + ", " + j + "]");
                }
            }
            GemmCheck.check("OpenBLAS", m, n, k, a, b, c);
        }
    }

    @Test
    void describesItsCoreAndRejectsBadArguments() {
        assumeTrue(blas != null, "OpenBLAS is not installed");
        assertTrue(blas.describe().contains("core " + blas.core()), blas.describe());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(4 * 4);
            MemorySegment heap = MemorySegment.ofArray(new float[4]);
            IllegalArgumentException tooSmall = assertThrows(IllegalArgumentException.class,
                    () -> blas.sgemm(2, 2, 2, small, small, arena.allocate(8)));
            assertTrue(tooSmall.getMessage().contains("argument c needs 16 bytes, has 8"), tooSmall.getMessage());
            IllegalArgumentException onHeap = assertThrows(IllegalArgumentException.class,
                    () -> blas.sgemm(2, 2, 1, heap, small, small));
            assertTrue(onHeap.getMessage().contains("argument a must be a native segment"), onHeap.getMessage());
            assertThrows(IllegalArgumentException.class, () -> blas.sgemm(0, 2, 2, small, small, small));
        }
    }

    @Test
    void gemmCheckCatchesAWrongEntry() {
        int m = 9, n = 11, k = 64;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) m * k * 4);
            MemorySegment b = arena.allocate((long) k * n * 4);
            MemorySegment c = arena.allocate((long) m * n * 4);
            GemmCheck.fillUniform(a, (long) m * k, 3);
            GemmCheck.fillUniform(b, (long) k * n, 4);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float sum = 0;
                    for (int p = 0; p < k; p++) {
                        sum += a.getAtIndex(ValueLayout.JAVA_FLOAT, i * k + p) * b.getAtIndex(ValueLayout.JAVA_FLOAT, p * n + j);
                    }
                    c.setAtIndex(ValueLayout.JAVA_FLOAT, i * n + j, sum);
                }
            }
            GemmCheck.check("naive", m, n, k, a, b, c);
            // Drop the last term of the bottom-right corner, as a kernel that mishandles a k-tail would.
            long last = (long) (m - 1) * n + n - 1;
            float dropped = a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) (m - 1) * k + k - 1)
                    * b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) (k - 1) * n + n - 1);
            c.setAtIndex(ValueLayout.JAVA_FLOAT, last, c.getAtIndex(ValueLayout.JAVA_FLOAT, last) - dropped);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> GemmCheck.check("broken", m, n, k, a, b, c));
            assertTrue(e.getMessage().startsWith("broken computed c[8, 10]"), e.getMessage());
        }
    }
}
