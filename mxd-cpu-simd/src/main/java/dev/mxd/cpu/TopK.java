package dev.mxd.cpu;

import java.util.Arrays;

/**
 * The K best (index, value) pairs of each of a block's rows, kept while a GEMM epilogue streams the row's
 * scores tile by tile, so the full row (N gates, H hidden units) is never stored.
 *
 * <p>A pair is one {@code long} whose signed order is the rank of DESIGN §1: the value in the high half (its bits
 * remapped so that integer order is float order, −0 folded into +0, NaN below everything), the complemented index
 * in the low half (equal values: the lower index ranks higher). Each row keeps a binary min-heap of at most K
 * such keys, its root the worst kept pair. Scores arrive in increasing index order, so a candidate can only enter
 * a full heap with a value strictly greater than the root's, which {@link #offer} finds with a vector scan; all but
 * a few candidates per row are rejected by that comparison alone.
 */
final class TopK {
    private final int k;
    private final long[] heap;
    private final int[] size;

    /** Heaps for up to {@code rows} rows of {@code k} pairs. */
    TopK(int rows, int k) {
        this.k = k;
        this.heap = new long[rows * k];
        this.size = new int[rows];
    }

    /** Empties the heaps of rows [0, rows). */
    void clear(int rows) {
        Arrays.fill(size, 0, rows, 0);
    }

    /**
     * Offers scores {@code v[vo .. vo + n)} of row {@code row}, which are the row's columns
     * {@code [col0, col0 + n)}; columns must come in increasing order across calls.
     */
    void offer(Kernels kern, int row, float[] v, int vo, int n, int col0) {
        int end = vo + n;
        int i = vo;
        for (; i < end && size[row] < k; i++) {
            push(row, key(v[i], col0 + i - vo));
        }
        while ((i = kern.nextGreater(v, i, end, threshold(row))) < end) {
            push(row, key(v[i], col0 + i - vo));
            i++;
        }
    }

    /**
     * Adds the pairs {@code other} holds for rows [0, rows) to this one's: the K best of both remain. Used to merge
     * heaps that saw disjoint column ranges; the order of merging does not matter, as every pair has its own rank.
     */
    void absorb(TopK other, int rows) {
        for (int row = 0; row < rows; row++) {
            for (int j = row * other.k, end = j + other.size[row]; j < end; j++) {
                push(row, other.heap[j]);
            }
        }
    }

    /**
     * Writes row {@code row}'s pairs sorted by rank (value descending, ties to the lower index) to
     * {@code outIndex/outValue[off .. off + K)}, and empties the heap.
     *
     * @throws IllegalStateException when fewer than K scores were offered
     */
    void drain(int row, int[] outIndex, float[] outValue, int off) {
        int n = size[row];
        if (n != k) {
            throw new IllegalStateException("TopK row " + row + " holds " + n + " pairs, K = " + k);
        }
        int base = row * k;
        for (int last = n - 1; last >= 0; last--) {
            long worst = heap[base];
            outIndex[off + last] = ~(int) worst;
            outValue[off + last] = value(worst);
            siftDown(base, heap[base + last], last);
        }
        size[row] = 0;
    }

    /** Scores must beat this to enter a full heap: the worst kept value (anything but NaN beats a NaN). */
    private float threshold(int row) {
        float worst = value(heap[row * k]);
        return Float.isNaN(worst) ? Float.NEGATIVE_INFINITY : worst;
    }

    private void push(int row, long key) {
        int base = row * k;
        int n = size[row];
        if (n < k) {
            int hole = n;
            for (int parent; hole > 0 && key < heap[base + (parent = (hole - 1) >>> 1)]; hole = parent) {
                heap[base + hole] = heap[base + parent];
            }
            heap[base + hole] = key;
            size[row] = n + 1;
        } else if (key > heap[base]) {
            siftDown(base, key, n);
        }
    }

    /** Puts {@code key} at the root of the heap {@code [base, base + n)} and moves it down to its place. */
    private void siftDown(int base, long key, int n) {
        int hole = 0;
        for (int child; (child = 2 * hole + 1) < n; hole = child) {
            if (child + 1 < n && heap[base + child + 1] < heap[base + child]) {
                child++;
            }
            if (key <= heap[base + child]) {
                break;
            }
            heap[base + hole] = heap[base + child];
        }
        heap[base + hole] = key;
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
