package dev.mxd.cpu;

/**
 * The K best (index, value) pairs of each of a block's rows, kept while a GEMM epilogue streams the row's
 * scores tile by tile, so the full row (N gates, H hidden units) is never stored.
 *
 * <p>Each row has a binary heap of at most K pairs whose root is the worst kept pair: lower value, or equal value
 * and higher index (DESIGN §1: ties go to the lower index). Scores arrive in increasing index order, so a
 * candidate only enters when its value is strictly greater than the root's, which {@link #offer} finds with a
 * vector scan; all but a few candidates per row are rejected by that comparison alone.
 */
final class TopK {
    private final int k;
    private final int[] index;
    private final float[] value;
    private final int[] size;

    /** Heaps for up to {@code rows} rows of {@code k} pairs. */
    TopK(int rows, int k) {
        this.k = k;
        this.index = new int[rows * k];
        this.value = new float[rows * k];
        this.size = new int[rows];
    }

    /** Empties the heaps of rows [0, rows). */
    void clear(int rows) {
        java.util.Arrays.fill(size, 0, rows, 0);
    }

    /**
     * Offers scores {@code v[vo .. vo + n)} of row {@code row}, which are the row's columns
     * {@code [col0, col0 + n)}; columns must come in increasing order across calls.
     */
    void offer(Kernels kern, int row, float[] v, int vo, int n, int col0) {
        int end = vo + n;
        int i = vo;
        for (; i < end && size[row] < k; i++) {
            push(row, col0 + i - vo, v[i]);
        }
        while (true) {
            i = kern.nextGreater(v, i, end, threshold(row));
            if (i >= end) {
                return;
            }
            push(row, col0 + i - vo, v[i]);
            i++;
        }
    }

    /**
     * Writes row {@code row}'s pairs sorted by value descending, ties to the lower index, to
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
            outIndex[off + last] = index[base];
            outValue[off + last] = value[base];
            index[base] = index[base + last];
            value[base] = value[base + last];
            siftDown(base, 0, last);
        }
        size[row] = 0;
    }

    /** Scores must beat this to enter a full heap: the worst kept value (anything but NaN beats a NaN). */
    private float threshold(int row) {
        float worst = value[row * k];
        return Float.isNaN(worst) ? Float.NEGATIVE_INFINITY : worst;
    }

    private void push(int row, int idx, float v) {
        int base = row * k;
        int n = size[row];
        if (n < k) {
            int hole = n;
            while (hole > 0) {
                int parent = (hole - 1) >>> 1;
                if (!worse(idx, v, index[base + parent], value[base + parent])) {
                    break;
                }
                index[base + hole] = index[base + parent];
                value[base + hole] = value[base + parent];
                hole = parent;
            }
            index[base + hole] = idx;
            value[base + hole] = v;
            size[row] = n + 1;
        } else if (worse(index[base], value[base], idx, v)) {
            index[base] = idx;
            value[base] = v;
            siftDown(base, 0, n);
        }
    }

    /** Restores the heap order of {@code [base, base + n)} below {@code hole}. */
    private void siftDown(int base, int hole, int n) {
        int idx = index[base + hole];
        float v = value[base + hole];
        while (true) {
            int child = 2 * hole + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && worse(index[base + child + 1], value[base + child + 1],
                    index[base + child], value[base + child])) {
                child++;
            }
            if (!worse(index[base + child], value[base + child], idx, v)) {
                break;
            }
            index[base + hole] = index[base + child];
            value[base + hole] = value[base + child];
            hole = child;
        }
        index[base + hole] = idx;
        value[base + hole] = v;
    }

    /**
     * Whether pair (ia, va) ranks below (ib, vb): lower value, or the same value and a higher index. NaN (only
     * possible from non-finite inputs) ranks below every number, as in the oracle's ordering.
     */
    private static boolean worse(int ia, float va, int ib, float vb) {
        if (va < vb) {
            return true;
        }
        if (va == vb || (va != va && vb != vb)) {
            return ia > ib;
        }
        return va != va && vb == vb;
    }
}
