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
 * <p>Each row keeps a reservoir of up to 2K keys and a bar: the K-th best key seen so far once K have been seen.
 * A candidate that does not beat the bar cannot be among the row's K best and is dropped; one that does is
 * appended, and a full reservoir is cut back to its K best by a selection ({@link Kernels#keepLargest}), which
 * raises the bar. Appending is O(1) and a cut costs O(K) per K appends, where a binary heap would sift every
 * accepted candidate through log K levels. Scores arrive in increasing index order, so a candidate beats the bar
 * exactly when its value is strictly greater than the bar's, which {@link #offer} tests in vector lanes; all but a
 * few candidates per row are rejected by that comparison alone.
 */
final class TopK {
    /** The bar of a row that has seen fewer than K keys: below every key (no key has the complement of index −1). */
    private static final long NO_BAR = Long.MIN_VALUE;
    /**
     * Reservoir size in units of K. A larger one cuts less often but lets the bar lag further behind; with the
     * vector cut 2K was the fastest of 2K, 3K and 4K at the GPT-2 gate (K = 32, N = 21,490), where with a quickselect
     * cut (several times dearer) 3K was.
     */
    private static final int RESERVOIR = 2;

    private final Kernels kern;
    private final int k;
    private final int capacity;
    private final long[] keys;
    private final int[] size;
    private final long[] bar;
    /** The addend of {@link #offer(int, float[], int, int, int)}, grown on need. */
    private float[] zeros = new float[0];

    /** Empty reservoirs for up to {@code rows} rows, keeping the {@code k} best of each; cuts run on {@code kern}. */
    TopK(Kernels kern, int rows, int k) {
        this.kern = kern;
        this.k = k;
        this.capacity = RESERVOIR * k;
        this.keys = new long[rows * capacity];
        this.size = new int[rows];
        this.bar = new long[rows];
        Arrays.fill(bar, NO_BAR);
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
    void offer(int row, float[] v, int vo, int n, int col0) {
        if (zeros.length < n) {
            zeros = new float[n];
        }
        offer(row, v, vo, zeros, 0, n, col0, false);
    }

    /**
     * Offers row {@code row}'s columns {@code [col0, col0 + n)} with scores {@code v[vo + j] + a[ao + j]}, or with
     * {@code relu} their relu (max(x, 0), NaN and −0 to +0: the gate's bias and relu, formed here for the few
     * columns that beat the bar, the tile itself left as it is); columns must come in increasing order across
     * calls. With relu every kept score is ≥ 0, so the bar is too, and relu(x) beats it exactly when x does.
     */
    void offer(int row, float[] v, int vo, float[] a, int ao, int n, int col0, boolean relu) {
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
            bar[row] = kern.keepLargest(keys, base, n, k);
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
        }
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
