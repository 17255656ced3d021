package dev.mxd;

import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The weights of one MxD, TC or STC layer: its {@link MxdConfig} and its tensors, float32, row-major, with
 * the reference's names and shapes ({@link MxdConfig#tensorShapes()}), off-heap in a shared {@link Arena}
 * this object owns.
 *
 * <p>Ownership: the caller closes the model; {@link #close()} frees every tensor, after which any segment
 * obtained from {@link #tensor(String)} is invalid. A backend's {@link MxdLayer} made from this model may
 * keep reading it (the reference backend does), so close the layer first, then the model. Reading the
 * model from several threads is safe; writing a tensor while a layer uses it is not.
 */
public final class MxdModel implements AutoCloseable {
    private final MxdConfig config;
    private final Arena arena;
    private final Map<String, Tensor> tensors;
    private volatile boolean closed;

    private MxdModel(MxdConfig config, Arena arena, Map<String, Tensor> tensors) {
        this.config = config;
        this.arena = arena;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Takes ownership of {@code arena} and the F32 tensors allocated in it, after checking that every tensor
     * the config needs is present with its shape. Tensors the config does not name are kept (and saved
     * back). On failure the arena is closed before the exception leaves, so nothing leaks.
     *
     * @throws IllegalArgumentException naming a missing tensor or the expected and actual shape
     */
    public static MxdModel adopt(MxdConfig config, Arena arena, Map<String, Tensor> tensors) {
        try {
            Objects.requireNonNull(config, "config");
            Map<String, Tensor> ordered = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : config.tensorShapes().entrySet()) {
                Tensor t = tensors.get(e.getKey());
                if (t == null) {
                    throw new IllegalArgumentException("missing tensor '" + e.getKey() + "' (shape "
                            + Arrays.toString(e.getValue()) + ") required by a " + config.kind() + " config");
                }
                if (!t.hasShape(e.getValue())) {
                    throw new IllegalArgumentException("tensor '" + e.getKey() + "' has shape "
                            + Arrays.toString(t.shape()) + " but the config needs " + Arrays.toString(e.getValue())
                            + " (" + shapeMeaning(e.getKey()) + ")");
                }
                ordered.put(e.getKey(), requireF32(e.getKey(), t));
            }
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                ordered.putIfAbsent(e.getKey(), requireF32(e.getKey(), e.getValue()));
            }
            return new MxdModel(config, arena, ordered);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** A model of {@code config} with every tensor zero. */
    public static MxdModel zeros(MxdConfig config) {
        Arena arena = Arena.ofShared();
        Map<String, Tensor> m = new LinkedHashMap<>();
        config.tensorShapes().forEach((name, shape) ->
                m.put(name, new Tensor(DType.F32, shape, arena.allocate(Tensor.elementCount(shape) * 4, 64))));
        return adopt(config, arena, m);
    }

    /**
     * A model of {@code config} with deterministic pseudo-random weights, for tests and benchmarks (not a
     * trained or reference-initialised model): every matrix and bias ~ U(−1/√fan_in, 1/√fan_in), where
     * fan_in is I for the encoder, GLU, gate and skip and H for the decoder; {@code W_cond} ~ U(−1, 1).
     */
    public static MxdModel random(MxdConfig config, long seed) {
        MxdModel model = zeros(config);
        SplittableRandom rnd = new SplittableRandom(seed);
        double sI = 1 / Math.sqrt(config.inputDim());
        double sH = 1 / Math.sqrt(config.hiddenDim());
        for (Map.Entry<String, Tensor> e : model.tensors.entrySet()) {
            double scale = switch (e.getKey()) {
                case "W_dec", "b_dec_out" -> sH;
                case "W_cond" -> 1.0;
                default -> sI;
            };
            MemorySegment s = e.getValue().data();
            long n = e.getValue().elementCount();
            for (long i = 0; i < n; i++) {
                s.setAtIndex(Tensor.F32_LE, i, (float) (scale * (2 * rnd.nextDouble() - 1)));
            }
        }
        return model;
    }


    public MxdConfig config() {
        return config;
    }

    /**
     * The F32 tensor {@code name}, a view into memory this model owns (valid until {@link #close()}).
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException after close
     */
    public Tensor tensor(String name) {
        ensureOpen();
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in this " + config.kind() + " model; it has "
                    + tensors.keySet());
        }
        return t;
    }

    /** Whether the model holds a tensor of that name. */
    public boolean hasTensor(String name) {
        return tensors.containsKey(name);
    }

    /** Every tensor, in file order (the config's tensors first, then any extra tensors the file held). */
    public Map<String, Tensor> tensors() {
        ensureOpen();
        return tensors;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Checks that the model is open before a backend takes it, naming what was asked in the failure.
     *
     * @param use what needs the model, e.g. {@code "train on backend cpu"}
     * @throws IllegalStateException {@code "cannot <use>: this MxdModel is closed"} when it is closed
     */
    public void requireOpen(String use) {
        if (closed) {
            throw new IllegalStateException("cannot " + use + ": this MxdModel is closed");
        }
    }

    /** Frees every tensor. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        arena.close();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this MxdModel is closed");
        }
    }

    private static Tensor requireF32(String name, Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("tensor '" + name + "' must be F32 in a loaded model, got " + t.dtype());
        }
        return t;
    }

    private static String shapeMeaning(String name) {
        return switch (name) {
            case "W_enc" -> "[d_in, d_sae]";
            case "b_enc", "W_glu.bias" -> "[d_sae]";
            case "W_glu.weight" -> "[d_sae, d_in]";
            case "W_dec" -> "[d_sae, d_out]";
            case "gate" -> "[n_experts, d_in]";
            case "gate_bias" -> "[n_experts]";
            case "W_cond" -> "[d_out, n_experts]";
            case "W_skip.weight" -> "[d_out, d_in]";
            case "b_dec_out" -> "[d_out]";
            case "b_dec" -> "[d_in]";
            default -> "?";
        };
    }
}
