package dev.mxd.tensor;

import java.util.Optional;

/** Element types mxd reads and writes; the names are the safetensors dtype strings. */
public enum DType {
    F64(8, true),
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    I64(8, false),
    I32(4, false);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether values are floating point (and so convertible to f32 weights). */
    public boolean isFloating() {
        return floating;
    }

    /** The dtype with this safetensors name, or empty when mxd does not support it. */
    public static Optional<DType> fromName(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }
}
