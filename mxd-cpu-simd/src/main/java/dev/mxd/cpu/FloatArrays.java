package dev.mxd.cpu;

import java.lang.ref.SoftReference;
import java.util.ArrayList;
import java.util.List;

/**
 * Scratch arrays kept between calls. A call's packed operands and tiles are megabytes; allocating them fresh each
 * call made young collections copy the live ones and, as the heap grew, the caller page-fault through new memory:
 * GEMM calls at half speed now and then. Arrays handed back here are reused by later calls (any thread), held
 * softly so that the collector may still take them when memory runs short.
 *
 * <p>A taken array is at least the requested length and holds whatever its last user left: callers write before
 * they read. Weights are never kept here; they live as long as their layer.
 */
final class FloatArrays {
    /** Arrays kept at most; the oldest goes first. */
    private static final int MAX_KEPT = 64;

    private static final List<SoftReference<float[]>> KEPT = new ArrayList<>();

    private FloatArrays() {
    }

    /**
     * An array of at least {@code length} floats: the smallest kept one that fits without wasting more than half of
     * it, else a new one.
     */
    static float[] take(int length) {
        synchronized (KEPT) {
            int best = -1;
            float[] found = null;
            for (int i = KEPT.size() - 1; i >= 0; i--) {
                float[] a = KEPT.get(i).get();
                if (a == null) {
                    KEPT.remove(i);
                    best = best > i ? best - 1 : best;
                } else if (a.length >= length && a.length / 2 <= length && (found == null || a.length < found.length)) {
                    found = a;
                    best = i;
                }
            }
            if (found != null) {
                KEPT.remove(best);
                return found;
            }
        }
        return new float[length];
    }

    /** Hands {@code a} back for reuse; null is ignored. The caller must not touch it afterwards. */
    static void give(float[] a) {
        if (a == null || a.length == 0) {
            return;
        }
        synchronized (KEPT) {
            if (KEPT.size() == MAX_KEPT) {
                KEPT.removeFirst();
            }
            KEPT.add(new SoftReference<>(a));
        }
    }

    /** Forgets every kept array (tests measure what a call allocates from scratch). */
    static void clear() {
        synchronized (KEPT) {
            KEPT.clear();
        }
    }
}
