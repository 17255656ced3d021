package dev.mxd.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A view of a dense, row-major, little-endian tensor in a {@link MemorySegment}. The view owns nothing:
 * the segment belongs to whoever allocated or mapped it (an {@link Arena}, a model, a checkpoint file), and
 * the view is valid only while that owner is open.
 *
 * @param dtype element type
 * @param shape dimensions, outermost first (an empty array is a scalar)
 * @param data  exactly {@code elementCount() · dtype.byteSize()} bytes
 */
public record Tensor(DType dtype, long[] shape, MemorySegment data) {

    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
        long expected = elementCount(shape) * dtype.byteSize();
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor of dtype " + dtype + " and shape " + Arrays.toString(shape)
                    + " needs " + expected + " bytes, got " + data.byteSize());
        }
    }

    /** The shape (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The product of the dimensions. */
    public long elementCount() {
        return elementCount(shape);
    }

    /** The product of the dimensions of {@code shape}, checked for overflow. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Whether this tensor has exactly the given shape. */
    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /**
     * Converts a floating tensor to a new F32 tensor allocated in {@code arena} (the caller's arena owns the
     * result). F32 is copied; F64 is rounded to nearest; F16 and BF16 widen exactly.
     *
     * @throws IllegalArgumentException for an integer dtype
     */
    public Tensor toF32(Arena arena) {
        long n = elementCount();
        MemorySegment out = arena.allocate(n * 4, 64);
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, 0, out, 0, n * 4);
            case F64 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(F32_LE, i, (float) data.getAtIndex(F64_LE, i));
                }
            }
            case F16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(F32_LE, i, Float.float16ToFloat(data.getAtIndex(I16_LE, i)));
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(F32_LE, i, Float.intBitsToFloat((data.getAtIndex(I16_LE, i) & 0xFFFF) << 16));
                }
            }
            default -> throw new IllegalArgumentException("cannot convert a " + dtype + " tensor to F32");
        }
        return new Tensor(DType.F32, shape, out);
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
