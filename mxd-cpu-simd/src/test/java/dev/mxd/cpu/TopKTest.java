package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
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
                TopK top = new TopK(kern, rows, k);
                top.clear(rows);
                int tile = 17;
                for (int c0 = 0; c0 < n; c0 += tile) {
                    for (int row = 0; row < rows; row++) {
                        float[] buf = new float[tile + 2];
                        int cols = Math.min(tile, n - c0);
                        System.arraycopy(scores[row], c0, buf, 2, cols);
                        top.offer(row, buf, 2, cols, c0);
                    }
                }
                for (int row = 0; row < rows; row++) {
                    int[] idx = new int[k];
                    float[] val = new float[k];
                    top.drain(row, idx, val, 0);
                    float[] s = scores[row];
                    assertArrayEquals(sortedTopK(s, k), idx, "n " + n + ", k " + k + ", row " + row);
                    for (int j = 0; j < k; j++) {
                        assertEquals(s[idx[j]], val[j]);
                    }
                }
            }
        }
    }

    /**
     * The gate's fused epilogue: scores relu(v + bias) formed inside the scan, the tile left unwritten. Against a
     * sort of the sums' relu, with negatives, −0 and NaN among the scores (all relu to +0: ties broken by index),
     * on both kernel sets.
     */
    @Test
    void biasAndReluInsideTheScanGiveTheSortedTopKOfTheirRelu() {
        SplittableRandom r = new SplittableRandom(5);
        for (Kernels kernels : new Kernels[] {kern, new ScalarKernels()}) {
            for (int n : new int[] {1, 7, 40, 333}) {
                for (int k : new int[] {1, 3, Math.max(1, n / 3), n}) {
                    if (k > n) {
                        continue;
                    }
                    float[] v = new float[n + 3];
                    float[] bias = new float[n + 5];
                    float[] relu = new float[n];
                    for (int i = 0; i < n; i++) {
                        v[3 + i] = switch (r.nextInt(8)) {
                            case 0 -> Float.NaN;
                            case 1 -> -0f;
                            default -> (float) r.nextInt(-4, 6) / 2;
                        };
                        bias[5 + i] = r.nextInt(3) == 0 ? 0f : (float) r.nextInt(-2, 3) / 4;
                        float x = v[3 + i] + bias[5 + i];
                        relu[i] = x > 0 ? x : 0f;
                    }
                    float[] before = v.clone();
                    TopK top = new TopK(kernels, 1, k);
                    top.clear(1);
                    for (int c0 = 0; c0 < n; c0 += 19) {
                        top.offer(0, v, 3 + c0, bias, 5 + c0, Math.min(19, n - c0), c0, true);
                    }
                    int[] idx = new int[k];
                    float[] val = new float[k];
                    top.drain(0, idx, val, 0);
                    String where = kernels.describe() + ", n " + n + ", k " + k;
                    assertArrayEquals(sortedTopK(relu, k), idx, where);
                    for (int j = 0; j < k; j++) {
                        assertEquals(Float.floatToRawIntBits(relu[idx[j]] + 0f), Float.floatToRawIntBits(val[j]), where);
                    }
                    assertArrayEquals(before, v, "the scores are not written");
                }
            }
        }
    }

    /** The indices of a row's K best scores by a full sort: value descending, ties to the lower index. */
    private static int[] sortedTopK(float[] s, int k) {
        return IntStream.range(0, s.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -s[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    /**
     * Two participants that take alternate blocks of a row's columns (as a call too small for row blocks spreads its
     * column tiles), merged: every row's K best on both kernel sets, for candidate counts far past the reservoir, with
     * ties and zeros (relu) among the scores.
     */
    @Test
    void alternateColumnBlocksOfTwoParticipantsMergeToTheSortedTopK() {
        SplittableRandom r = new SplittableRandom(5);
        for (Kernels kernels : new Kernels[] {kern, new ScalarKernels()}) {
            for (int rows : new int[] {1, 70}) {
                for (int n : new int[] {1, 9, 400}) {
                    for (int k : new int[] {1, 3, Math.max(1, n / 2), n}) {
                        if (k > n) {
                            continue;
                        }
                        float[][] scores = new float[rows][n];
                        for (float[] row : scores) {
                            for (int i = 0; i < n; i++) {
                                row[i] = r.nextInt(4) == 0 ? 0f : (float) r.nextInt(0, 50);
                            }
                        }
                        TopK[] part = {new TopK(kernels, rows, k), new TopK(kernels, rows, k)};
                        int block = 11;
                        for (int c0 = 0, b = 0; c0 < n; c0 += block, b++) {
                            for (int row = 0; row < rows; row++) {
                                part[b % 2].offer(row, scores[row], c0, Math.min(block, n - c0), c0);
                            }
                        }
                        part[1].absorb(part[0], rows);
                        for (int row = 0; row < rows; row++) {
                            int[] idx = new int[k];
                            float[] val = new float[k];
                            part[1].drain(row, idx, val, 0);
                            String where = kernels.describe() + ", rows " + rows + ", n " + n + ", k " + k + ", row "
                                    + row;
                            assertArrayEquals(sortedTopK(scores[row], k), idx, where);
                            for (int j = 0; j < k; j++) {
                                assertEquals(scores[row][idx[j]], val[j], where);
                            }
                        }
                    }
                }
            }
        }
    }

    /** On both kernel sets, for ranges shorter than a vector, of whole vectors and with a tail. */
    @Test
    void keepLargestPutsTheLargestFirstAndReturnsTheLeastOfThem() {
        SplittableRandom r = new SplittableRandom(12);
        for (Kernels kernels : new Kernels[] {kern, new ScalarKernels()}) {
            for (int n : new int[] {1, 2, 3, 17, 96, 101}) {
                for (int m = 1; m <= n; m += Math.max(1, n / 5)) {
                    checkKeepLargest(kernels, r, n, m);
                }
                checkKeepLargest(kernels, r, n, n);
            }
        }
    }

    private static void checkKeepLargest(Kernels kernels, SplittableRandom r, int n, int m) {
        long[] a = new long[n + 4];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextLong() ^ i;
        }
        long[] sorted = Arrays.copyOfRange(a, 2, 2 + n);
        Arrays.sort(sorted);
        long[] before = a.clone();
        long least = kernels.keepLargest(a, 2, n, m);
        String where = kernels.describe() + ", n " + n + ", m " + m;
        assertEquals(sorted[n - m], least, where);
        long[] kept = Arrays.copyOfRange(a, 2, 2 + m);
        Arrays.sort(kept);
        assertArrayEquals(Arrays.copyOfRange(sorted, n - m, n), kept, where);
        assertArrayEquals(Arrays.copyOfRange(before, 0, 2), Arrays.copyOfRange(a, 0, 2), where);
        assertArrayEquals(Arrays.copyOfRange(before, n + 2, n + 4), Arrays.copyOfRange(a, n + 2, n + 4), where);
    }

    @Test
    void heapsOfDisjointRangesMergeToTheHeapOfAll() {
        SplittableRandom r = new SplittableRandom(8);
        int n = 300, k = 7;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextInt(0, 40);
        }
        TopK whole = new TopK(kern, 1, k), left = new TopK(kern, 1, k), right = new TopK(kern, 1, k);
        whole.clear(1);
        left.clear(1);
        right.clear(1);
        whole.offer(0, v, 0, n, 0);
        right.offer(0, v, 130, n - 130, 130);
        left.offer(0, v, 0, 130, 0);
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
        TopK top = new TopK(kern, 1, 3);
        top.clear(1);
        float[] v = {Float.NaN, 1f, Float.NaN, -5f, Float.NaN};
        top.offer(0, v, 0, v.length, 0);
        int[] idx = new int[3];
        float[] val = new float[3];
        top.drain(0, idx, val, 0);
        assertArrayEquals(new int[] {1, 3, 0}, idx);
    }

    @Test
    void drainingAnUnderfilledRowIsAnError() {
        TopK top = new TopK(kern, 1, 4);
        top.clear(1);
        top.offer(0, new float[] {1f, 2f}, 0, 2, 0);
        assertThrows(IllegalStateException.class, () -> top.drain(0, new int[4], new float[4], 0));
    }
}
