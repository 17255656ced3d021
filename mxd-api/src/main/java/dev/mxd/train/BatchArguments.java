package dev.mxd.train;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The argument checks every {@link TrainingKernels} implementation makes, in one place, so that a bad call gets the
 * same clear exception on every backend and nothing is changed before it is thrown.
 */
public final class BatchArguments {
    private BatchArguments() {
    }

    /**
     * Checks a batch for {@link TrainingKernels#forwardBackward} or {@link TrainingKernels#forward}.
     *
     * @param x         inputs, at least [T, I] floats
     * @param y         outputs, at least [T, O] floats, writable
     * @param codes     at least T rows of exactly K codes
     * @param widestRow the widest row, in floats, that the backend holds T of in one array (T·widestRow must stay
     *                  below {@code Integer.MAX_VALUE})
     * @throws IllegalArgumentException naming what is wrong
     * @throws NullPointerException     naming a missing argument
     */
    public static void check(MxdConfig cfg, MemorySegment x, int tokens, MemorySegment y, Codes codes, int widestRow) {
        if (tokens < 1) {
            throw new IllegalArgumentException("tokens must be >= 1, got " + tokens);
        }
        if ((long) tokens * widestRow > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a batch of " + tokens + " tokens is too large for one call");
        }
        requireFloats("x", x, (long) tokens * cfg.inputDim());
        requireFloats("y", y, (long) tokens * cfg.outputDim());
        Objects.requireNonNull(codes, "codes");
        if (codes.tokens() < tokens || codes.width() != cfg.k()) {
            throw new IllegalArgumentException("codes must be [" + tokens + ", " + cfg.k() + "], got ["
                    + codes.tokens() + ", " + codes.width() + "]");
        }
        if (y.isReadOnly()) {
            throw new IllegalArgumentException("y is a read-only segment");
        }
    }

    /** Checks that {@code s} holds at least {@code floats} floats; {@code what} names it in the exception. */
    public static void requireFloats(String what, MemorySegment s, long floats) {
        Objects.requireNonNull(s, what);
        if (s.byteSize() < floats * Float.BYTES) {
            throw new IllegalArgumentException(what + " needs " + floats * Float.BYTES + " bytes, the segment has "
                    + s.byteSize());
        }
    }

    /** Checks that {@code tensors} (gradient or moments, named by {@code what}) are of the config {@code cfg}. */
    public static void requireConfig(MxdConfig cfg, ParameterTensors tensors, String what) {
        Objects.requireNonNull(tensors, what + " tensors");
        if (!tensors.config().equals(cfg)) {
            throw new IllegalArgumentException("the " + what + " tensors are for another config ("
                    + tensors.config().kind() + " " + tensors.config().inputDim() + "x" + tensors.config().hiddenDim()
                    + "), not this model's");
        }
    }
}
