package dev.mxd.cpu;

import java.util.Arrays;

/**
 * The K best (index, value) pairs of each of a block's rows, kept while a GEMM epilogue streams the row's
 * scores tile by tile, so the full row (N gates, H hidden units) is never stored.
 *
 * <p>A pair is one {@code long} whose signed order is the rank of DESIGN §1: the value in the high half (its bits
 * remapped so that integer order is float order, −0 folded into +0, NaN below everything), the complemented index
 * in the low half (equal values: the lower index ranks higher).
 *
 * <p>Each row keeps a reservoir of up to 3K keys and a bar: the K-th best key seen so far once K have been seen.
 * A candidate that does not beat the bar cannot be among the row's K best and is dropped; one that does is
 * appended, and a full reservoir is cut back to its K best by a selection, which raises the bar. Appending is
 * O(1) and a cut costs O(K) per 2K appends, where a binary heap would sift every accepted candidate through
 * log K levels of a heap that, with many rows in flight ({@link #offerColumns}), is rarely in L1. Scores arrive
 * in increasing index order, so a candidate beats the bar exactly when its value is strictly greater than the
 * bar's, which {@link #offer} and {@link #offerColumns} test in vector lanes; all but a few candidates per row
 * are rejected by that comparison alone.
 */
final class TopK {
    /** The bar of a row that has seen fewer than K keys: below every key (no key has the complement of index −1). */
    private static final long NO_BAR = Long.MIN_VALUE;
    /**
     * Reservoir size in units of K. A larger one cuts less often but lets the bar lag further behind; at the GPT-2
     * gate (K = 32, 10,745 experts per participant, 1,024 tokens) 3K took 8.4–9.1 ms per participant against
     * 9.5–12.4 for 2K and 9.2–11.3 for 4K (best of 30, noisy 2-core machine).
     */
    private static final int RESERVOIR = 3;

    private final int k;
    private final int capacity;
    private final long[] keys;
    private final int[] size;
    private final long[] bar;
    /** Per row, the bar's value as a threshold ({@link #threshold}), kept for {@link #offerColumns}. */
    private final float[] limits;
    /** {@link #offerColumns}: the rows a tile row's scores beat, as bits. */
    private final long[] hits;
    /** The addend of {@link #offer(Kernels, int, float[], int, int, int)}, grown on need. */
    private float[] zeros = new float[0];

    /** Empty reservoirs for up to {@code rows} rows, keeping the {@code k} best of each. */
    TopK(int rows, int k) {
        this.k = k;
        this.capacity = RESERVOIR * k;
        this.keys = new long[rows * capacity];
        this.size = new int[rows];
        this.bar = new long[rows];
        Arrays.fill(bar, NO_BAR);
        this.limits = new float[rows];
        this.hits = new long[Math.ceilDiv(rows, 64)];
    }

    /** Rows this object has reservoirs for. */
    int rows() {
        return size.length;
    }

    /** Empties the reservoirs of rows [0, rows). */
    void clear(int rows) {
        Arrays.fill(size, 0, rows, 0);
        Arrays.fill(bar, 0, rows, NO_BAR);
    }

    /**
     * Offers scores {@code v[vo .. vo + n)} of row {@code row}, which are the row's columns
     * {@code [col0, col0 + n)}; columns must come in increasing order across calls.
     */
    void offer(Kernels kern, int row, float[] v, int vo, int n, int col0) {
        if (zeros.length < n) {
            zeros = new float[n];
        }
        offer(kern, row, v, vo, zeros, 0, n, col0, false);
    }

    /**
     * Offers row {@code row}'s columns {@code [col0, col0 + n)} with scores {@code v[vo + j] + a[ao + j]}, or with
     * {@code relu} their relu (max(x, 0), NaN and −0 to +0: the gate's bias and relu, formed here for the few
     * columns that beat the bar, the tile itself left as it is); columns must come in increasing order across
     * calls. With relu every kept score is ≥ 0, so the bar is too, and relu(x) beats it exactly when x does.
     */
    void offer(Kernels kern, int row, float[] v, int vo, float[] a, int ao, int n, int col0, boolean relu) {
        int j = 0;
        for (; j < n && bar[row] == NO_BAR; j++) {
            push(row, key(score(v[vo + j] + a[ao + j], relu), col0 + j));
        }
        while ((j = kern.nextSumAbove(v, vo, a, ao, j, n, threshold(row))) < n) {
            push(row, key(score(v[vo + j] + a[ao + j], relu), col0 + j));
            j++;
        }
    }

    private static float score(float x, boolean relu) {
        return !relu || x > 0 ? x : 0f;
    }

    /**
     * Offers a tile of scores laid out the other way round from {@link #offer}: tile row i holds column
     * {@code col0 + i}'s scores ({@code tile[i·ldt + j]}) for rows {@code [row0, row0 + rows)}. For a GEMM whose
     * output rows are the candidates (experts) and whose columns are the rows here (tokens): each tile row is
     * compared with the rows' thresholds in vector lanes. Columns must come in increasing order across calls.
     */
    void offerColumns(Kernels kern, float[] tile, int ldt, int cols, int rows, int col0, int row0) {
        int barless = 0;
        for (int row = row0; row < row0 + rows; row++) {
            if (bar[row] == NO_BAR) {
                barless++;
            }
        }
        for (int i = 0; i < cols; i++) {
            int col = col0 + i;
            int base = i * ldt;
            if (barless > 0) {
                for (int j = 0; j < rows; j++) {
                    int row = row0 + j;
                    boolean had = bar[row] != NO_BAR;
                    if (!had || tile[base + j] > limits[row]) {
                        push(row, key(tile[base + j], col));
                        if (!had && bar[row] != NO_BAR) {
                            barless--;
                        }
                    }
                }
                continue;
            }
            kern.greaterMask(tile, base, limits, row0, rows, hits);
            for (int w = 0; w < Math.ceilDiv(rows, 64); w++) {
                for (long bits = hits[w]; bits != 0; bits &= bits - 1) {
                    int row = row0 + w * 64 + Long.numberOfTrailingZeros(bits);
                    push(row, key(tile[base + row - row0], col));
                }
            }
        }
    }

    /**
     * Adds the pairs {@code other} holds for rows [0, rows) to this one's: the K best of both remain. Used to merge
     * reservoirs that saw disjoint column ranges; the order of merging does not matter, as every pair has its own
     * rank.
     */
    void absorb(TopK other, int rows) {
        for (int row = 0; row < rows; row++) {
            for (int j = row * other.capacity, end = j + other.size[row]; j < end; j++) {
                push(row, other.keys[j]);
            }
        }
    }

    /**
     * Writes row {@code row}'s K best pairs sorted by rank (value descending, ties to the lower index) to
     * {@code outIndex/outValue[off .. off + K)}, and empties the row.
     *
     * @throws IllegalStateException when fewer than K scores were offered
     */
    void drain(int row, int[] outIndex, float[] outValue, int off) {
        int n = size[row];
        if (n < k) {
            throw new IllegalStateException("TopK row " + row + " holds " + n + " pairs, K = " + k);
        }
        int base = row * capacity;
        Arrays.sort(keys, base, base + n);
        for (int j = 0; j < k; j++) {
            long key = keys[base + n - 1 - j];
            outIndex[off + j] = ~(int) key;
            outValue[off + j] = value(key);
        }
        size[row] = 0;
        bar[row] = NO_BAR;
    }

    /** Scores must beat this to be kept: the bar's value (anything but NaN beats a NaN); meaningless without a bar. */
    private float threshold(int row) {
        float worst = value(bar[row]);
        return Float.isNaN(worst) ? Float.NEGATIVE_INFINITY : worst;
    }

    private void push(int row, long key) {
        if (key <= bar[row]) {
            return;
        }
        int base = row * capacity;
        int n = size[row];
        if (n == capacity) {
            bar[row] = keepLargest(keys, base, n, k);
            limits[row] = threshold(row);
            n = k;
            if (key <= bar[row]) {
                size[row] = n;
                return;
            }
        }
        keys[base + n] = key;
        size[row] = ++n;
        if (n == k && bar[row] == NO_BAR) {
            long least = keys[base];
            for (int j = base + 1; j < base + n; j++) {
                least = Math.min(least, keys[j]);
            }
            bar[row] = least;
            limits[row] = threshold(row);
        }
    }

    /**
     * Reorders {@code a[from .. from + n)} so that its m largest come first, in any order, and returns the least of
     * them: a quickselect (median-of-three Hoare partitions) on distinct keys.
     */
    static long keepLargest(long[] a, int from, int n, int m) {
        int target = from + m - 1;
        int l = from;
        int r = from + n - 1;
        while (l < r) {
            int mid = (l + r) >>> 1;
            long x = a[l], y = a[mid], z = a[r];
            long pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
            int i = l;
            int j = r;
            while (i <= j) {
                while (a[i] > pivot) {
                    i++;
                }
                while (a[j] < pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            if (target <= j) {
                r = j;
            } else if (target >= i) {
                l = i;
            } else {
                break;
            }
        }
        return a[target];
    }

    /** The rank key of (index, value): signed long order is rank order. */
    static long key(float value, int index) {
        int bits = Float.floatToRawIntBits(value + 0f);
        int ordered = value != value ? Integer.MIN_VALUE : bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ((long) ordered << 32) | (~index & 0xFFFFFFFFL);
    }

    private static float value(long key) {
        int ordered = (int) (key >> 32);
        return ordered == Integer.MIN_VALUE ? Float.NaN
                : Float.intBitsToFloat(ordered ^ ((ordered >> 31) & 0x7FFFFFFF));
    }
}
