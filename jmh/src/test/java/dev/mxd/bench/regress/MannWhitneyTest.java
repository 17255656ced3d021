package dev.mxd.bench.regress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The test's p-values against SciPy 1.x ({@code scipy.stats.mannwhitneyu(low, high, alternative='less')}). */
class MannWhitneyTest {

    @Test
    void exactPValuesMatchScipy() {
        assertEquals(0.007936507936507936, MannWhitney.pLess(new double[] {1, 2, 3, 4, 6},
                new double[] {5, 7, 8, 9, 10}), 1e-12);
        assertEquals(0.05244755244755244, MannWhitney.pLess(new double[] {1, 2, 3, 4, 6, 11, 12, 13},
                new double[] {5, 7, 8, 9, 10, 14, 15, 16}), 1e-12);
    }

    @Test
    void theOtherDirectionIsOneMinusTheTailBelow() {
        double[] a = {1, 2, 3, 4, 6};
        double[] b = {5, 7, 8, 9, 10};
        // P(U >= u) + P(U' >= u') = 1 + P(U = u) with no ties: here P(U = 24) = 1/252
        assertEquals(1 + 1.0 / 252, MannWhitney.pLess(a, b) + MannWhitney.pLess(b, a), 1e-12);
    }

    @Test
    void completeSeparationGivesTheSmallestP() {
        double[] low = {1, 2, 3, 4, 5, 6, 7, 8};
        double[] high = {11, 12, 13, 14, 15, 16, 17, 18};
        assertEquals(1.0 / 12870, MannWhitney.pLess(low, high), 1e-15);
        assertEquals(1.0 / 12870, MannWhitney.smallestP(8, 8), 1e-15);
        assertEquals(1.0, MannWhitney.pLess(high, low), 1e-12);
        assertEquals(0.1, MannWhitney.smallestP(2, 3), 1e-15);
    }

    @Test
    void largeSamplesUseTheNormalApproximationAsScipy() {
        double[] a = {0.3456, 0.8216, 0.3304, -1.3032, 0.9054, 0.4464, -0.537, 0.5811, 0.3646, 0.2941, 0.0284, 0.5467,
            -0.7365, -0.1629, -0.4821, 0.5988, 0.0397, -0.2925, -0.7819, -0.2572, 0.0081, -0.2756, 1.2941, 1.0067,
            -2.7112};
        double[] b = {-1.389, 0.3252, 0.0778, 0.7136, 0.7173, 2.6178, -0.612, 0.1224, 2.5428, 1.1467, 1.1631, -0.014,
            -1.1481, 0.6675, 0.609, -0.7274, -0.1832, 0.428, -0.4448, 0.4017, 0.5955, 0.5356, -0.0063, 1.0937, 1.3912};
        // scipy asymptotic with continuity correction: 0.07015782468867894 (exact: 0.0706671524768761)
        assertEquals(0.07015782468867894, MannWhitney.pLess(a, b), 1e-6);
    }

    @Test
    void identicalSamplesAreNotSignificant() {
        double[] a = {5, 5, 5, 5};
        assertEquals(0.5, MannWhitney.pLess(a, a), 0.3);
    }

    @Test
    void refusesEmptyOrNaNSamples() {
        assertThrows(IllegalArgumentException.class, () -> MannWhitney.pLess(new double[0], new double[] {1}));
        assertThrows(IllegalArgumentException.class,
                () -> MannWhitney.pLess(new double[] {Double.NaN}, new double[] {1}));
    }
}
