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
    private final TopHeaps top;
    private final SampleHeaps sample;

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
        top = new TopHeaps(experts, m);
        sample = new SampleHeaps(experts, s);
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
        top.offer(n, row, v, 0);
        if (s > 0) {
            sample.offer(n, row, v, key(n, row));
        }
    }

    /**
     * A binary heap per expert of hits (a row and its value) in parallel arrays, expert n's from slot n·capacity;
     * its root is the kept hit a better one replaces first. One instance serves every expert, so that a firing
     * allocates nothing.
     */
    private abstract static class Heaps {
        final int capacity;
        final int[] size;
        final long[] row;
        final float[] value;

        Heaps(int experts, int capacity) {
            this.capacity = capacity;
            size = new int[experts];
            row = new long[Math.multiplyExact(experts, capacity)];
            value = new float[row.length];
        }

        /** Whether slot {@code a} belongs nearer the root than slot {@code b}. */
        abstract boolean above(int a, int b);

        /** Whether a hit with this row, value and sample key is to replace the root at {@code base}. */
        abstract boolean replacesRoot(int base, long row, float v, long key);

        /** Puts a hit in a slot; a subclass that keeps more per hit puts that too. */
        void set(int slot, long row, float v, long key) {
            this.row[slot] = row;
            value[slot] = v;
        }

        /** Swaps two slots; a subclass that keeps more per hit swaps that too. */
        void swap(int a, int b) {
            long r = row[a];
            row[a] = row[b];
            row[b] = r;
            float v = value[a];
            value[a] = value[b];
            value[b] = v;
        }

        /** Keeps a firing of expert {@code n} while its heap has room, else when it replaces the root. */
        final void offer(int n, long row, float v, long key) {
            int base = n * capacity;
            int filled = size[n];
            if (filled < capacity) {
                set(base + filled, row, v, key);
                size[n] = filled + 1;
                siftUp(base, filled);
            } else if (replacesRoot(base, row, v, key)) {
                set(base, row, v, key);
                siftDown(base);
            }
        }

        /** Restores the heap at {@code base} after its slot {@code i}, the last, was filled. */
        private void siftUp(int base, int i) {
            while (i > 0) {
                int parent = (i - 1) / 2;
                if (!above(base + i, base + parent)) {
                    return;
                }
                swap(base + i, base + parent);
                i = parent;
            }
        }

        /** Restores the full heap at {@code base} after its root was replaced. */
        private void siftDown(int base) {
            int i = 0;
            while (true) {
                int l = 2 * i + 1, r = l + 1, first = i;
                if (l < capacity && above(base + l, base + first)) {
                    first = l;
                }
                if (r < capacity && above(base + r, base + first)) {
                    first = r;
                }
                if (first == i) {
                    return;
                }
                swap(base + i, base + first);
                i = first;
            }
        }

        /** Expert {@code n}'s hits by {@link #BY_VALUE}. */
        final List<Hit> hits(int n) {
            List<Hit> out = new ArrayList<>(size[n]);
            for (int i = 0; i < size[n]; i++) {
                out.add(new Hit(row[n * capacity + i], value[n * capacity + i]));
            }
            out.sort(BY_VALUE);
            return out;
        }
    }

    /** The top hits (no key): the root is the worst kept (lowest value, then highest row). */
    private static final class TopHeaps extends Heaps {
        TopHeaps(int experts, int m) {
            super(experts, m);
        }

        @Override
        boolean above(int a, int b) {
            return value[a] != value[b] ? value[a] < value[b] : row[a] > row[b];
        }

        @Override
        boolean replacesRoot(int base, long row, float v, long key) {
            return v != value[base] ? v > value[base] : row < this.row[base];
        }
    }

    /** The sample, with each hit's key: the root is the largest kept key (then highest row), the first to go. */
    private static final class SampleHeaps extends Heaps {
        final long[] key;

        SampleHeaps(int experts, int s) {
            super(experts, s);
            key = new long[row.length];
        }

        @Override
        boolean above(int a, int b) {
            return key[a] != key[b] ? key[a] > key[b] : row[a] > row[b];
        }

        @Override
        boolean replacesRoot(int base, long row, float v, long key) {
            return key != this.key[base] ? key < this.key[base] : row < this.row[base];
        }

        @Override
        void set(int slot, long row, float v, long key) {
            super.set(slot, row, v, key);
            this.key[slot] = key;
        }

        @Override
        void swap(int a, int b) {
            super.swap(a, b);
            long k = key[a];
            key[a] = key[b];
            key[b] = k;
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
        return top.hits(n);
    }

    /** Expert {@code n}'s sampled firings, at most S, by {@link #BY_VALUE}. */
    public List<Hit> sample(int n) {
        return sample.hits(n);
    }
}
