package dev.mxd.cli;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/** The tensors {@code forward}, {@code encode} and {@code decode} read, checked against the model once. */
final class LayerFiles {
    private LayerFiles() {
    }

    /**
     * {@code x} [T, I] of {@code in} as float32: as mapped when F32, else converted into {@code arena}.
     *
     * @throws IllegalArgumentException when there is no {@code x}, or it is not a floating [T ≥ 1, I]
     */
    static Tensor x(SafetensorsFile in, Path input, MxdConfig cfg, Arena arena) {
        if (!in.names().contains("x")) {
            throw new IllegalArgumentException(input + " has no tensor 'x' (it holds " + in.names() + ")");
        }
        Tensor x = in.tensor("x");
        long[] shape = x.shape();
        if (shape.length != 2 || shape[1] != cfg.inputDim() || shape[0] < 1 || shape[0] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("input tensor 'x' has shape " + Arrays.toString(shape)
                    + " but the model expects [T, " + cfg.inputDim() + "] with T >= 1");
        }
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException("input tensor 'x' has dtype " + x.dtype() + "; expected F32, F16, BF16 or F64");
        }
        // An F32 input is used where it is mapped; only other dtypes are converted.
        return x.dtype() == DType.F32 ? x : x.toF32(arena);
    }

    /**
     * The codes of {@code file}: {@code codes.index} I32 [T, W] and {@code codes.value} [T, W] (floating), any
     * width W, copied into {@code arena} (a mapped file is read-only and may be little-endian on any machine).
     *
     * @throws IllegalArgumentException when a tensor is missing, of another dtype, or the shapes disagree with each
     *                                  other or with the {@code tokens} of x
     */
    static Codes codes(SafetensorsFile file, Path path, int tokens, Arena arena) {
        for (String name : new String[] {"codes.index", "codes.value"}) {
            if (!file.contains(name)) {
                throw new IllegalArgumentException(path + " has no tensor '" + name + "' (it holds " + file.names() + ")");
            }
        }
        Tensor index = file.tensor("codes.index"), value = file.tensor("codes.value");
        if (index.dtype() != DType.I32 || index.shape().length != 2) {
            throw new IllegalArgumentException(path + ": codes.index is " + index + ", expected I32 [T, W]");
        }
        if (!value.dtype().isFloating() || !Arrays.equals(value.shape(), index.shape())) {
            throw new IllegalArgumentException(path + ": codes.value is " + value + ", expected a floating tensor of"
                    + " codes.index's shape " + Arrays.toString(index.shape()));
        }
        if (index.shape()[0] != tokens) {
            throw new IllegalArgumentException(path + " holds codes of " + index.shape()[0] + " tokens but x has " + tokens);
        }
        int width = Math.toIntExact(index.shape()[1]);
        Codes codes = Codes.allocate(arena, tokens, width);
        long n = (long) tokens * width;
        MemorySegment.copy(index.data(), Tensor.I32_LE, 0, codes.indexSegment(), java.lang.foreign.ValueLayout.JAVA_INT, 0, n);
        Tensor v32 = value.dtype() == DType.F32 ? value : value.toF32(arena);
        MemorySegment.copy(v32.data(), Tensor.F32_LE, 0, codes.valueSegment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, n);
        return codes;
    }
}
