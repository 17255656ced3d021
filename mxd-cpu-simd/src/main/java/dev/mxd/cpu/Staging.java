package dev.mxd.cpu;

import dev.mxd.Codes;
import java.lang.foreign.MemorySegment;

/**
 * Lets worker threads serve callers whose segments they may not touch. A segment from a confined arena is
 * accessible by its owner thread only; the caller copies such an input to the heap before the call and an output
 * back after it (a copy of the call's own data, never of a weight). Heap, global, auto and shared segments are
 * used as they are.
 */
final class Staging {
    /** Stands for any worker thread: never started, owns no arena, so only shareable segments admit it. */
    private static final Thread OTHER_THREAD = new Thread(() -> {
    });

    private Staging() {
    }

    /** {@code s} itself when worker threads may read it, else a heap copy. */
    static MemorySegment in(MemorySegment s) {
        return shareable(s) ? s : heap(s.byteSize()).copyFrom(s);
    }

    /** {@code s} itself when worker threads may write it, else a heap segment of its size for {@link #back}. */
    static MemorySegment out(MemorySegment s) {
        return shareable(s) ? s : heap(s.byteSize());
    }

    /** Copies a staged output to the caller's segment; nothing to do when it was not staged. */
    static void back(MemorySegment staged, MemorySegment s) {
        if (staged != s) {
            s.copyFrom(staged);
        }
    }

    static Codes in(Codes c) {
        MemorySegment index = in(c.indexSegment());
        MemorySegment value = in(c.valueSegment());
        return index == c.indexSegment() && value == c.valueSegment() ? c
                : new Codes(c.tokens(), c.width(), index, value);
    }

    static Codes out(Codes c) {
        MemorySegment index = out(c.indexSegment());
        MemorySegment value = out(c.valueSegment());
        return index == c.indexSegment() && value == c.valueSegment() ? c
                : new Codes(c.tokens(), c.width(), index, value);
    }

    static void back(Codes staged, Codes c) {
        back(staged.indexSegment(), c.indexSegment());
        back(staged.valueSegment(), c.valueSegment());
    }

    private static boolean shareable(MemorySegment s) {
        return s.isAccessibleBy(OTHER_THREAD);
    }

    private static MemorySegment heap(long bytes) {
        long words = (bytes + Long.BYTES - 1) / Long.BYTES;
        if (words > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a " + bytes + "-byte segment from a confined arena is too large to"
                    + " hand to worker threads; allocate it in a shared or global arena");
        }
        return MemorySegment.ofArray(new long[(int) words]).asSlice(0, bytes);
    }
}
