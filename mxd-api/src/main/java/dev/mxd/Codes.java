package dev.mxd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Expert codes: for each of T tokens, {@code width} (index, value) pairs, stored as two row-major tables
 * {@code index} [T, width] (int32) and {@code value} [T, width] (float32) in native byte order.
 *
 * <p>{@code encode} fills exactly K pairs per token, sorted by value descending, ties to the lower index
 * (DESIGN §1). For an MxD an index is an expert in [0, N); for a TC or STC it is a hidden unit in [0, H).
 * {@code decode} accepts any width: a token with fewer real pairs pads with value 0 (any valid index), which
 * contributes nothing; an index may repeat (the values add), and may be an expert outside the token's top K
 * (steering).
 *
 * <p>Ownership: the two segments belong to the arena they were allocated in (or to the heap for
 * {@link #onHeap}); this object closes nothing.
 */
public final class Codes {
    private final int tokens;
    private final int width;
    private final MemorySegment index;
    private final MemorySegment value;

    /**
     * Wraps existing tables.
     *
     * @throws IllegalArgumentException when a segment's size is not {@code tokens · width · 4} bytes
     */
    public Codes(int tokens, int width, MemorySegment index, MemorySegment value) {
        if (tokens < 0 || width < 0) {
            throw new IllegalArgumentException("codes need tokens >= 0 and width >= 0, got " + tokens + " x " + width);
        }
        long bytes = (long) tokens * width * 4;
        if (Objects.requireNonNull(index, "index").byteSize() != bytes
                || Objects.requireNonNull(value, "value").byteSize() != bytes) {
            throw new IllegalArgumentException("codes [" + tokens + ", " + width + "] need " + bytes
                    + " bytes per table, got index " + index.byteSize() + " and value " + value.byteSize());
        }
        this.tokens = tokens;
        this.width = width;
        this.index = index;
        this.value = value;
    }

    /** Zeroed codes [tokens, width] in native memory owned by {@code arena}. */
    public static Codes allocate(Arena arena, int tokens, int width) {
        long bytes = Math.max(1, (long) tokens * width * 4);
        return new Codes(tokens, width, arena.allocate(bytes, 64).asSlice(0, (long) tokens * width * 4),
                arena.allocate(bytes, 64).asSlice(0, (long) tokens * width * 4));
    }

    /** Zeroed codes [tokens, width] on the Java heap. */
    public static Codes onHeap(int tokens, int width) {
        int n = Math.multiplyExact(tokens, width);
        return new Codes(tokens, width, MemorySegment.ofArray(new int[n]), MemorySegment.ofArray(new float[n]));
    }

    public int tokens() {
        return tokens;
    }

    public int width() {
        return width;
    }

    /** The index table [tokens, width], int32, native order. */
    public MemorySegment indexSegment() {
        return index;
    }

    /** The value table [tokens, width], float32, native order. */
    public MemorySegment valueSegment() {
        return value;
    }

    public int index(int token, int slot) {
        return index.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, offset(token, slot));
    }

    public float value(int token, int slot) {
        return value.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, offset(token, slot));
    }

    /** Sets one pair; steering writes codes this way between {@code encode} and {@code decode}. */
    public void set(int token, int slot, int expert, float v) {
        long o = offset(token, slot);
        index.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, o, expert);
        value.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o, v);
    }

    private long offset(int token, int slot) {
        Objects.checkIndex(token, tokens);
        Objects.checkIndex(slot, width);
        return (long) token * width + slot;
    }
}
