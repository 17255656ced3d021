package dev.mxd.checkpoint.torch;

import dev.mxd.tensor.DType;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * A tensor as a PyTorch checkpoint describes it ({@code torch._utils._rebuild_tensor_v2}): a strided view
 * of a typed storage, the raw little-endian record {@code data/<storageKey>} of the archive. Element
 * {@code [i₀, i₁, …]} is storage element {@code storageOffset + Σ iₐ·stride[d]}; strides and offset count
 * elements, not bytes. A row-major tensor has strides {@code [∏ shape[1..], …, 1]}; the reference's
 * {@code W_enc} and {@code W_dec} are transposed views of {@code nn.Linear} weights, with strides
 * {@code [1, rows]}. This is a description only; {@link TorchCheckpoint#load} reads the data.
 *
 * @param storageClass    the storage class in module {@code torch}, e.g. {@code FloatStorage}
 * @param shape           sizes, outermost first
 * @param stride          elements to step in the storage per index step, one per dimension
 * @param storageOffset   the storage element of index [0, …, 0]
 * @param storageKey      the storage's record name under {@code data/}
 * @param storageElements how many elements the storage holds
 * @param location        where torch kept the storage when saving ({@code cpu}, {@code cuda:0}, …); informational
 */
public record TorchTensor(String storageClass, long[] shape, long[] stride, long storageOffset, String storageKey,
                          long storageElements, String location) {

    /**
     * Validates the view against its storage.
     *
     * @throws IllegalArgumentException for an unknown storage class, negative sizes, strides or offset, a
     *                                  rank mismatch, or a view reaching past the end of its storage
     */
    public TorchTensor {
        Objects.requireNonNull(storageKey, "storageKey");
        Objects.requireNonNull(location, "location");
        if (StorageType.ofClassName(storageClass).isEmpty()) {
            throw new IllegalArgumentException("unknown storage class torch." + storageClass);
        }
        shape = shape.clone();
        stride = stride.clone();
        if (shape.length != stride.length) {
            throw new IllegalArgumentException("tensor size " + Arrays.toString(shape) + " and stride "
                    + Arrays.toString(stride) + " have different ranks");
        }
        if (storageOffset < 0 || storageElements < 0) {
            throw new IllegalArgumentException("negative storage offset " + storageOffset + " or storage size "
                    + storageElements);
        }
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] < 0 || stride[d] < 0) {
                throw new IllegalArgumentException("negative size or stride in size " + Arrays.toString(shape)
                        + ", stride " + Arrays.toString(stride));
            }
        }
        long needed = requiredStorageElements(shape, stride, storageOffset);
        if (needed > storageElements) {
            throw new IllegalArgumentException("a tensor of size " + Arrays.toString(shape) + ", stride "
                    + Arrays.toString(stride) + " at offset " + storageOffset + " reaches element " + (needed - 1)
                    + " of storage '" + storageKey + "', which holds " + storageElements + " elements");
        }
    }

    /** The torch dtype name, e.g. {@code float32} or {@code bfloat16}. */
    public String torchDtype() {
        return storageType().torchDtype();
    }

    /** The mxd dtype of the elements where mxd has one (F64, F32, F16, BF16, I64, I32). */
    public Optional<DType> dtype() {
        return storageType().dtype();
    }

    /** The sizes (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The strides, in elements (a copy). */
    @Override
    public long[] stride() {
        return stride.clone();
    }

    /** The product of the sizes. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Whether the elements lie in row-major order without gaps (dimensions of size 1 may have any stride). */
    public boolean isRowMajor() {
        if (elementCount() == 0) {
            return true;
        }
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    StorageType storageType() {
        return StorageType.ofClassName(storageClass).orElseThrow();
    }

    /** One past the largest storage element the view touches (0 for an empty tensor). */
    private static long requiredStorageElements(long[] shape, long[] stride, long offset) {
        long last = offset;
        try {
            for (int d = 0; d < shape.length; d++) {
                if (shape[d] == 0) {
                    return 0;
                }
                last = Math.addExact(last, Math.multiplyExact(shape[d] - 1, stride[d]));
            }
            return Math.addExact(last, 1);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor size " + Arrays.toString(shape) + " and stride "
                    + Arrays.toString(stride) + " overflow a 64-bit element index");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TorchTensor t && storageClass.equals(t.storageClass) && Arrays.equals(shape, t.shape)
                && Arrays.equals(stride, t.stride) && storageOffset == t.storageOffset
                && storageKey.equals(t.storageKey) && storageElements == t.storageElements
                && location.equals(t.location);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * storageKey.hashCode() + Arrays.hashCode(shape)) + Long.hashCode(storageOffset);
    }

    @Override
    public String toString() {
        return torchDtype() + Arrays.toString(shape) + (isRowMajor() ? "" : " stride " + Arrays.toString(stride))
                + " in storage '" + storageKey + "' at " + storageOffset;
    }
}
