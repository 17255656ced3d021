package dev.mxd.checkpoint.torch;

import dev.mxd.tensor.DType;
import java.util.Optional;

/**
 * The typed storage classes a PyTorch checkpoint names in its persistent ids ({@code torch.FloatStorage}
 * ...): the element type of the raw bytes in {@code data/<key>}. Only names: nothing is instantiated.
 */
enum StorageType {
    FLOAT("FloatStorage", "float32", 4, DType.F32),
    DOUBLE("DoubleStorage", "float64", 8, DType.F64),
    HALF("HalfStorage", "float16", 2, DType.F16),
    BFLOAT16("BFloat16Storage", "bfloat16", 2, DType.BF16),
    LONG("LongStorage", "int64", 8, DType.I64),
    INT("IntStorage", "int32", 4, DType.I32),
    SHORT("ShortStorage", "int16", 2, null),
    CHAR("CharStorage", "int8", 1, null),
    BYTE("ByteStorage", "uint8", 1, null),
    BOOL("BoolStorage", "bool", 1, null),
    COMPLEX_FLOAT("ComplexFloatStorage", "complex64", 8, null),
    COMPLEX_DOUBLE("ComplexDoubleStorage", "complex128", 16, null),
    QINT8("QInt8Storage", "qint8", 1, null),
    QUINT8("QUInt8Storage", "quint8", 1, null),
    QINT32("QInt32Storage", "qint32", 4, null);

    private final String className;
    private final String torchDtype;
    private final int itemSize;
    private final DType dtype;

    StorageType(String className, String torchDtype, int itemSize, DType dtype) {
        this.className = className;
        this.torchDtype = torchDtype;
        this.itemSize = itemSize;
        this.dtype = dtype;
    }

    /** The class name inside module {@code torch}, e.g. {@code FloatStorage}. */
    String className() {
        return className;
    }

    /** The torch dtype name, e.g. {@code float32}. */
    String torchDtype() {
        return torchDtype;
    }

    /** Bytes per element. */
    int itemSize() {
        return itemSize;
    }

    /** The mxd dtype of these elements, where mxd has one. */
    Optional<DType> dtype() {
        return Optional.ofNullable(dtype);
    }

    /** The storage type of {@code torch.<className>}, or empty for a name this table does not know. */
    static Optional<StorageType> ofClassName(String className) {
        for (StorageType t : values()) {
            if (t.className.equals(className)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
