package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Codes;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MetricsTest {

    private static Codes codes(int[][] idx, float[][] val) {
        Codes c = Codes.onHeap(idx.length, idx[0].length);
        for (int r = 0; r < idx.length; r++) {
            for (int j = 0; j < idx[r].length; j++) {
                c.set(r, j, idx[r][j], val[r][j]);
            }
        }
        return c;
    }

    @Test
    void smallBatchByHand() {
        // two tokens, O = 2: t rows (3, 4) and (0, 2); y rows (3, 5) and (1, 2)
        float[] t = {3, 4, 0, 2};
        float[] y = {3, 5, 1, 2};
        Codes c = codes(new int[][] {{4, 1}, {1, 0}}, new float[][] {{2f, -0.5f}, {1f, 0f}});
        Metrics m = new Metrics(2, 5);
        m.add(MemorySegment.ofArray(y), MemorySegment.ofArray(t), c, 2);
        // (0² + 1²)/5 + (1² + 0²)/2 over 4 elements
        assertEquals((1.0 / 5 + 1.0 / 2) / 4, m.loss(), 1e-15);
        // mean t = (1.5, 3); Σ‖t − mean‖² = 1.5² + 1² + 1.5² + 1² = 6.5
        assertEquals(2.0 / 6.5, m.fvu(), 1e-15);
        assertEquals(2.0 / (25 + 4), m.nmse(), 1e-15);
        assertEquals(3.0 / 2, m.l0(), 1e-15);  // the negative TC-style code counts, the zero does not
        assertArrayEquals(new long[] {0, 2, 0, 0, 1}, m.firingCounts());
        assertEquals(3.0 / 5, m.deadFraction(), 1e-15);
    }

    @Test
    void batchesAddUpToOneBatch() {
        SplittableRandom r = new SplittableRandom(3);
        int tokens = 37, o = 5;
        float[] y = new float[tokens * o], t = new float[tokens * o];
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) r.nextGaussian();
            t[i] = (float) (100 + r.nextGaussian());  // a large mean: a naive Σt² − T·mean² would lose digits
        }
        Codes all = Codes.onHeap(tokens, 2);
        for (int i = 0; i < tokens; i++) {
            all.set(i, 0, i % 7, 1f);
            all.set(i, 1, (i * 3) % 7, i % 2);
        }
        Metrics whole = new Metrics(o, 7);
        whole.add(MemorySegment.ofArray(y), MemorySegment.ofArray(t), all, tokens);
        Metrics parts = new Metrics(o, 7);
        int[] cuts = {0, 1, 13, 30, 37};
        for (int p = 0; p + 1 < cuts.length; p++) {
            int a = cuts[p], b = cuts[p + 1];
            Codes c = Codes.onHeap(b - a, 2);
            for (int i = a; i < b; i++) {
                c.set(i - a, 0, all.index(i, 0), all.value(i, 0));
                c.set(i - a, 1, all.index(i, 1), all.value(i, 1));
            }
            parts.add(MemorySegment.ofArray(Arrays.copyOfRange(y, a * o, b * o)),
                    MemorySegment.ofArray(Arrays.copyOfRange(t, a * o, b * o)), c, b - a);
        }
        assertEquals(whole.loss(), parts.loss(), 1e-14);
        assertEquals(whole.fvu(), parts.fvu(), 1e-12 * whole.fvu());
        assertEquals(whole.nmse(), parts.nmse(), 1e-14);
        assertEquals(whole.l0(), parts.l0(), 0);
        assertArrayEquals(whole.firingCounts(), parts.firingCounts());
        // FVU by a direct two-pass computation
        double[] mean = new double[o];
        for (int i = 0; i < tokens; i++) {
            for (int j = 0; j < o; j++) {
                mean[j] += t[i * o + j] / (double) tokens;
            }
        }
        double num = 0, den = 0;
        for (int i = 0; i < tokens; i++) {
            for (int j = 0; j < o; j++) {
                double d = y[i * o + j] - (double) t[i * o + j];
                double c = t[i * o + j] - mean[j];
                num += d * d;
                den += c * c;
            }
        }
        assertEquals(num / den, parts.fvu(), 1e-10 * num / den);
    }

    @Test
    void denseL2RatioAndReconstructionBiasAgainstBruteForceDouble() {
        SplittableRandom r = new SplittableRandom(11);
        int tokens = 53, o = 7, codeSpace = 9;
        float[] y = new float[tokens * o], t = new float[tokens * o];
        for (int i = 0; i < y.length; i++) {
            t[i] = (float) (2 + r.nextGaussian());
            y[i] = (float) (0.7 * t[i] + 0.3 * r.nextGaussian());
        }
        // index 0 fires on every token, 1 on every 9th (6 of 53 > 10 %), 2 on every 11th (5 of 53 < 10 %),
        // 3 on 4 tokens and 4 on 6 (the 10 % line, 5.3, lies between 2 and 4), the rest never
        Codes c = Codes.onHeap(tokens, 3);
        for (int i = 0; i < tokens; i++) {
            c.set(i, 0, 0, 1f);
            c.set(i, 1, i % 9 == 0 ? 1 : 3, i % 9 == 0 || i < 5 ? 0.5f : 0f);
            c.set(i, 2, i % 11 == 0 ? 2 : 4, i % 11 == 0 || i >= 47 ? -0.25f : 0f);
        }
        Metrics m = new Metrics(o, codeSpace);
        m.add(MemorySegment.ofArray(Arrays.copyOf(y, 20 * o)), MemorySegment.ofArray(Arrays.copyOf(t, 20 * o)),
                sliceCodes(c, 0, 20), 20);
        m.add(MemorySegment.ofArray(Arrays.copyOfRange(y, 20 * o, tokens * o)),
                MemorySegment.ofArray(Arrays.copyOfRange(t, 20 * o, tokens * o)), sliceCodes(c, 20, tokens), tokens - 20);
        double ratio = 0, yy = 0, ty = 0;
        long[] fired = new long[codeSpace];
        for (int i = 0; i < tokens; i++) {
            double ny = 0, nt = 0;
            for (int j = 0; j < o; j++) {
                double a = y[i * o + j], b = t[i * o + j];
                ny += a * a;
                nt += b * b;
                ty += a * b;
            }
            yy += ny;
            ratio += Math.sqrt(ny) / Math.sqrt(nt);
            for (int j = 0; j < 3; j++) {
                if (c.value(i, j) != 0) {
                    fired[c.index(i, j)]++;
                }
            }
        }
        long dense = Arrays.stream(fired).filter(f -> f > 0.1 * tokens).count();
        assertEquals(3, dense);   // 0 (53), 1 (6) and 4 (6): a count that a wrong threshold or window would change
        assertEquals((double) dense / codeSpace, m.denseFraction(), 0);
        assertEquals(ratio / tokens, m.l2Ratio(), 1e-12);
        assertEquals(yy / ty, m.relativeReconstructionBias(), 1e-12);
        assertTrue(m.l2Ratio() < 0.9 && m.relativeReconstructionBias() < 0.9, "y shrinks t by 0.7 here");
        assertTrue(Double.isNaN(new Metrics(o, codeSpace).denseFraction()));
    }

    private static Codes sliceCodes(Codes all, int from, int to) {
        Codes c = Codes.onHeap(to - from, all.width());
        for (int i = from; i < to; i++) {
            for (int j = 0; j < all.width(); j++) {
                c.set(i - from, j, all.index(i, j), all.value(i, j));
            }
        }
        return c;
    }

    @Test
    void zeroNormTargetRowIsNamedAndNothingIsAdded() {
        Metrics m = new Metrics(2, 3);
        Codes c = codes(new int[][] {{0}, {1}, {2}}, new float[][] {{1}, {1}, {1}});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.add(
                MemorySegment.ofArray(new float[6]), MemorySegment.ofArray(new float[] {1, 0, 0, 0, 2, 2}), c, 3));
        assertTrue(e.getMessage().contains("target row 1"), e.getMessage());
        assertEquals(0, m.tokens());
        assertArrayEquals(new long[3], m.firingCounts());
        Codes bad = codes(new int[][] {{3}}, new float[][] {{1}});
        assertThrows(IllegalArgumentException.class, () -> m.add(MemorySegment.ofArray(new float[2]),
                MemorySegment.ofArray(new float[] {1, 1}), bad, 1));
    }

    @Test
    void deadExpertsFollowTheWindow() {
        DeadExperts d = new DeadExperts(4, 10);
        Codes fire0 = codes(new int[][] {{0, 1}, {0, 2}}, new float[][] {{1, 1}, {1, 0}});
        d.update(fire0);                 // 2 tokens seen; 0 and 1 fired
        assertEquals(0, d.dead());       // nothing is dead before a window has passed
        for (int i = 0; i < 4; i++) {
            d.update(codes(new int[][] {{0}, {0}}, new float[][] {{1}, {1}}));
        }
        assertEquals(10, d.tokensSeen());
        // 1 fired at token 2 (8 tokens ago), 2 never (its code was 0), 3 never: 10 tokens without firing
        assertEquals(2, d.dead());
        d.update(codes(new int[][] {{0}, {0}}, new float[][] {{1}, {1}}));
        assertEquals(3, d.dead());
        assertEquals(0.75, d.deadFraction());
        DeadExperts copy = new DeadExperts(4, 10);
        copy.restore(d.tokensSeen(), d.lastFired());
        assertEquals(d.dead(), copy.dead());
        assertThrows(IllegalArgumentException.class, () -> copy.restore(5, new long[] {6, 0, 0, 0}));
    }
}
