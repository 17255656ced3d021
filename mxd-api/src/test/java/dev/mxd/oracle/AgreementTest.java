package dev.mxd.oracle;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Codes;
import org.junit.jupiter.api.Test;

class AgreementTest {
    private static Codes codes(int[] idx, float[] val) {
        Codes c = Codes.onHeap(1, idx.length);
        for (int j = 0; j < idx.length; j++) {
            c.set(0, j, idx[j], val[j]);
        }
        return c;
    }

    @Test
    void nearTiesMaySwapOthersMayNot() {
        double[][] s = {{0.1, 5.0, 3.0, 3.0001, 0.0}};
        // The oracle picks {1, 3}; index 2 is a near-tie of the K-th score, so {1, 2} is accepted too.
        assertDoesNotThrow(() -> Agreement.requireCodesAgree("a", codes(new int[] {1, 3}, new float[] {5f, 3.0001f}), s, 2));
        assertDoesNotThrow(() -> Agreement.requireCodesAgree("b", codes(new int[] {1, 2}, new float[] {5f, 3f}), s, 2));
        AssertionError e = assertThrows(AssertionError.class,
                () -> Agreement.requireCodesAgree("c", codes(new int[] {3, 2}, new float[] {3.0001f, 3f}), s, 2));
        assertTrue(e.getMessage().contains("index 1"), e.getMessage());
    }

    @Test
    void equalValuesMustListTheLowerIndexFirst() {
        double[][] s = {{2.0, 2.0, 1.0}};
        assertDoesNotThrow(() -> Agreement.requireCodesAgree("a", codes(new int[] {0, 1}, new float[] {2f, 2f}), s, 2));
        AssertionError e = assertThrows(AssertionError.class,
                () -> Agreement.requireCodesAgree("b", codes(new int[] {1, 0}, new float[] {2f, 2f}), s, 2));
        assertTrue(e.getMessage().contains("not sorted"), e.getMessage());
    }

    @Test
    void valuesAndOutputsWithinTolerance() {
        double[][] s = {{1.0, 0.5}};
        assertThrows(AssertionError.class,
                () -> Agreement.requireCodesAgree("v", codes(new int[] {0}, new float[] {1.01f}), s, 1));
        double[] y64 = {100.0, -0.5, 2e-3};
        assertDoesNotThrow(() -> Agreement.requireClose("y", new float[] {100.009f, -0.5005f, 2e-3f}, y64, 3));
        AssertionError e = assertThrows(AssertionError.class,
                () -> Agreement.requireClose("y", new float[] {100f, -0.5f, 4e-3f}, y64, 3));
        assertTrue(e.getMessage().startsWith("y: element [0, 2]"), e.getMessage());
    }
}
