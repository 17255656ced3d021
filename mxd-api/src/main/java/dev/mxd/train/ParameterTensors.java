package dev.mxd.train;

import dev.mxd.MxdConfig;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One F32 tensor per trainable parameter of a config (every tensor of {@link MxdConfig#tensorShapes()} but
 * {@code b_dec}), with the parameter's name and row-major shape, zeroed at allocation, off-heap in a shared
 * arena this object owns. Used for gradients and for AdamW's two moments.
 *
 * <p>Ownership: the creator closes it; segments obtained from {@link #tensor} are invalid after
 * {@link #close()}.
 */
public final class ParameterTensors implements AutoCloseable {
    private final MxdConfig config;
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private ParameterTensors(MxdConfig config) {
        this.config = config;
        this.arena = Arena.ofShared();
        Map<String, Tensor> m = new LinkedHashMap<>();
        Map<String, long[]> shapes = config.tensorShapes();
        for (String name : config.trainableTensorNames()) {
            long[] shape = shapes.get(name);
            m.put(name, new Tensor(DType.F32, shape, arena.allocate(Tensor.elementCount(shape) * 4, 64)));
        }
        this.tensors = Collections.unmodifiableMap(m);
    }

    /** Zeroed tensors for every trainable parameter of {@code config}. */
    public static ParameterTensors zeros(MxdConfig config) {
        return new ParameterTensors(config);
    }

    public MxdConfig config() {
        return config;
    }

    /** The names, in file order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /**
     * The tensor of parameter {@code name}.
     *
     * @throws IllegalArgumentException for a name that is not a trainable parameter of the config
     */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("'" + name + "' is not a trainable parameter of this " + config.kind()
                    + "; they are " + tensors.keySet());
        }
        return t;
    }

    /** Every tensor by name, in file order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Sets every element of every tensor to zero. */
    public void clear() {
        for (Tensor t : tensors.values()) {
            t.data().fill((byte) 0);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
