package dev.mxd.text.experts;

import dev.mxd.Codes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The streamed part of the top-activating contexts (DESIGN §7): for every expert at once, in one pass, its M
 * highest firing values with their rows, and a uniform sample of S of its firings for the lower quantiles. Memory
 * O(N·(M + S)), whatever the number of rows.
 *
 * <p>Order: the top M by value descending, equal values by lower row first (rows of a harvested split run in
 * (doc, pos) order, so ties go by document, then position). The sample is a bottom-S sketch: each firing (n, row)
 * gets a key from a fixed hash of (n, row), and the S smallest keys are kept; it is uniform, does not depend on
 * chunking or order, and equals the brute-force choice. Not thread-safe: feed it from one thread.
 */
public final class TopActivations implements ExpertPass.Sink {
    /** A firing: the split row and the expert's value there. */
    public record Hit(long row, float value) {
    }

    /** Value descending, then row ascending: the order of examples. */
    public static final Comparator<Hit> BY_VALUE = (a, b) -> a.value() != b.value()
            ? Float.compare(b.value(), a.value()) : Long.compare(a.row(), b.row());

    private final int experts, m, s;
    private final float[] topValue;
    private final long[] topRow;
    private final int[] topSize;
    private final long[] sampleKey, sampleRow;
    private final float[] sampleValue;
    private final int[] sampleSize;

    /**
     * @param experts N (H for a TC or STC)
     * @param m       examples kept per expert, ≥ 1
     * @param s       sampled firings kept per expert, ≥ 0
     */
    public TopActivations(int experts, int m, int s) {
        if (experts < 1 || m < 1 || s < 0) {
            throw new IllegalArgumentException("need experts >= 1, m >= 1 and s >= 0, got " + experts + ", " + m + ", " + s);
        }
        this.experts = experts;
        this.m = m;
        this.s = s;
        topValue = new float[Math.multiplyExact(experts, m)];
        topRow = new long[topValue.length];
        topSize = new int[experts];
        sampleKey = new long[Math.multiplyExact(experts, s)];
        sampleRow = new long[sampleKey.length];
        sampleValue = new float[sampleKey.length];
        sampleSize = new int[experts];
    }

    /** The sample key of firing (expert, row): a fixed 64-bit mix, so the sample is reproducible. */
    public static long key(int expert, long row) {
        long z = row * 0x9E3779B97F4A7C15L + (expert + 1L) * 0xC2B2AE3D27D4EB4FL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void accept(long firstRow, Codes codes) {
        for (int r = 0; r < codes.tokens(); r++) {
            long row = firstRow + r;
            for (int j = 0; j < codes.width(); j++) {
                float v = codes.value(r, j);
                if (v != 0) {
                    add(codes.index(r, j), row, v);
                }
            }
        }
    }

    /** Adds one firing of expert {@code n}. */
    public void add(int n, long row, float v) {
        offerTop(n, row, v);
        if (s > 0) {
            offerSample(n, row, v, key(n, row));
        }
    }

    // top: a min-heap per expert whose root is the worst kept hit (lowest value, then highest row)
    private boolean worse(int a, int b) {
        return topValue[a] != topValue[b] ? topValue[a] < topValue[b] : topRow[a] > topRow[b];
    }

    private void offerTop(int n, long row, float v) {
        int base = n * m;
        int size = topSize[n];
        if (size < m) {
            topValue[base + size] = v;
            topRow[base + size] = row;
            topSize[n] = size + 1;
            int i = size;
            while (i > 0) {
                int parent = (i - 1) / 2;
                if (!worse(base + i, base + parent)) {
                    break;
                }
                swapTop(base + i, base + parent);
                i = parent;
            }
            return;
        }
        boolean better = v != topValue[base] ? v > topValue[base] : row < topRow[base];
        if (!better) {
            return;
        }
        topValue[base] = v;
        topRow[base] = row;
        siftDownTop(base);
    }

    private void swapTop(int a, int b) {
        float v = topValue[a];
        topValue[a] = topValue[b];
        topValue[b] = v;
        long r = topRow[a];
        topRow[a] = topRow[b];
        topRow[b] = r;
    }

    // sample: a max-heap per expert on (key, row) whose root is the largest kept key
    private boolean larger(int a, int b) {
        return sampleKey[a] != sampleKey[b] ? sampleKey[a] > sampleKey[b] : sampleRow[a] > sampleRow[b];
    }

    private void offerSample(int n, long row, float v, long key) {
        int base = n * s;
        int size = sampleSize[n];
        if (size < s) {
            sampleKey[base + size] = key;
            sampleRow[base + size] = row;
            sampleValue[base + size] = v;
            sampleSize[n] = size + 1;
            int i = size;
            while (i > 0) {
                int parent = (i - 1) / 2;
                if (!larger(base + i, base + parent)) {
                    break;
                }
                swapSample(base + i, base + parent);
                i = parent;
            }
            return;
        }
        boolean smaller = key != sampleKey[base] ? key < sampleKey[base] : row < sampleRow[base];
        if (!smaller) {
            return;
        }
        sampleKey[base] = key;
        sampleRow[base] = row;
        sampleValue[base] = v;
        siftDownSample(base);
    }

    private void swapSample(int a, int b) {
        long k = sampleKey[a];
        sampleKey[a] = sampleKey[b];
        sampleKey[b] = k;
        long r = sampleRow[a];
        sampleRow[a] = sampleRow[b];
        sampleRow[b] = r;
        float v = sampleValue[a];
        sampleValue[a] = sampleValue[b];
        sampleValue[b] = v;
    }

    // two copies of one sift-down: a shared one over functional objects would allocate them per firing
    private void siftDownTop(int base) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, first = i;
            if (l < m && worse(base + l, base + first)) {
                first = l;
            }
            if (r < m && worse(base + r, base + first)) {
                first = r;
            }
            if (first == i) {
                return;
            }
            swapTop(base + i, base + first);
            i = first;
        }
    }

    private void siftDownSample(int base) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, first = i;
            if (l < s && larger(base + l, base + first)) {
                first = l;
            }
            if (r < s && larger(base + r, base + first)) {
                first = r;
            }
            if (first == i) {
                return;
            }
            swapSample(base + i, base + first);
            i = first;
        }
    }

    /** N. */
    public int experts() {
        return experts;
    }

    /** M, the examples kept per expert. */
    public int m() {
        return m;
    }

    /** Expert {@code n}'s highest firings, at most M, by {@link #BY_VALUE}. */
    public List<Hit> top(int n) {
        List<Hit> out = new ArrayList<>(topSize[n]);
        for (int i = 0; i < topSize[n]; i++) {
            out.add(new Hit(topRow[n * m + i], topValue[n * m + i]));
        }
        out.sort(BY_VALUE);
        return out;
    }

    /** Expert {@code n}'s sampled firings, at most S, by {@link #BY_VALUE}. */
    public List<Hit> sample(int n) {
        List<Hit> out = new ArrayList<>(s == 0 ? 0 : sampleSize[n]);
        for (int i = 0; s > 0 && i < sampleSize[n]; i++) {
            out.add(new Hit(sampleRow[n * s + i], sampleValue[n * s + i]));
        }
        out.sort(BY_VALUE);
        return out;
    }
}
