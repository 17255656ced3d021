package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** TopK against a full sort by (value descending, index ascending), with scores streamed in tiles. */
class TopKTest {
    private final Kernels kern = Kernels.get();

    @Test
    void streamedTilesGiveTheSortedTopK() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n : new int[] {1, 5, 40, 333}) {
            for (int k : new int[] {1, 2, Math.max(1, n / 3), n}) {
                if (k > n) {
                    continue;
                }
                int rows = 3;
                float[][] scores = new float[rows][n];
                for (float[] row : scores) {
                    for (int i = 0; i < n; i++) {
                        // few distinct values: many exact ties
                        row[i] = (float) r.nextInt(-3, 6);
                    }
                }
                TopK top = new TopK(rows, k);
                top.clear(rows);
                int tile = 17;
                for (int c0 = 0; c0 < n; c0 += tile) {
                    for (int row = 0; row < rows; row++) {
                        float[] buf = new float[tile + 2];
                        int cols = Math.min(tile, n - c0);
                        System.arraycopy(scores[row], c0, buf, 2, cols);
                        top.offer(kern, row, buf, 2, cols, c0);
                    }
                }
                for (int row = 0; row < rows; row++) {
                    int[] idx = new int[k];
                    float[] val = new float[k];
                    top.drain(row, idx, val, 0);
                    float[] s = scores[row];
                    int[] expected = IntStream.range(0, n).boxed()
                            .sorted(Comparator.<Integer>comparingDouble(i -> -s[i]).thenComparingInt(i -> i))
                            .limit(k).mapToInt(Integer::intValue).toArray();
                    assertArrayEquals(expected, idx, "n " + n + ", k " + k + ", row " + row);
                    for (int j = 0; j < k; j++) {
                        assertEquals(s[idx[j]], val[j]);
                    }
                }
            }
        }
    }

    @Test
    void heapsOfDisjointRangesMergeToTheHeapOfAll() {
        SplittableRandom r = new SplittableRandom(8);
        int n = 300, k = 7;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextInt(0, 40);
        }
        TopK whole = new TopK(1, k), left = new TopK(1, k), right = new TopK(1, k);
        whole.clear(1);
        left.clear(1);
        right.clear(1);
        whole.offer(kern, 0, v, 0, n, 0);
        right.offer(kern, 0, v, 130, n - 130, 130);
        left.offer(kern, 0, v, 0, 130, 0);
        right.absorb(left, 1);
        int[] expected = new int[k], merged = new int[k];
        float[] ev = new float[k], mv = new float[k];
        whole.drain(0, expected, ev, 0);
        right.drain(0, merged, mv, 0);
        assertArrayEquals(expected, merged);
        assertArrayEquals(ev, mv);
    }

    @Test
    void nanRanksBelowEveryNumber() {
        TopK top = new TopK(1, 3);
        top.clear(1);
        float[] v = {Float.NaN, 1f, Float.NaN, -5f, Float.NaN};
        top.offer(kern, 0, v, 0, v.length, 0);
        int[] idx = new int[3];
        float[] val = new float[3];
        top.drain(0, idx, val, 0);
        assertArrayEquals(new int[] {1, 3, 0}, idx);
    }

    @Test
    void drainingAnUnderfilledRowIsAnError() {
        TopK top = new TopK(1, 4);
        top.clear(1);
        top.offer(kern, 0, new float[] {1f, 2f}, 0, 2, 0);
        assertThrows(IllegalStateException.class, () -> top.drain(0, new int[4], new float[4], 0));
    }
}
