package dev.mxd.checkpoint.torch;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.torch.Unpickler.Global;
import dev.mxd.checkpoint.torch.Unpickler.Instance;
import dev.mxd.checkpoint.torch.Unpickler.Storage;
import dev.mxd.checkpoint.torch.Unpickler.Tuple;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A checkpoint of the reference PyTorch code (DESIGN §4): the file its {@code SparseAutoencoder.save_model}
 * writes, {@code torch.save({"cfg": <LanguageModelSAERunnerConfig>, "state_dict": module.state_dict()})},
 * read without Python by a restricted unpickler that runs no code (a file that asks to call anything but
 * the tensor-rebuilding functions torch itself uses is refused, naming the function).
 *
 * <p>{@link #read(Path)} describes a file (config fields and tensor layouts, no tensor data);
 * {@link #load(Path)} turns it into an {@link MxdModel}.
 *
 * @param configClass the pickled config's class, e.g. {@code sae_training.config.LanguageModelSAERunnerConfig}
 *                    ({@code builtins.dict} when the config was saved as a plain dict)
 * @param config      the config's fields in file order, as plain values: {@code null}, {@link Boolean},
 *                    {@link Long} or {@link BigInteger}, {@link Double}, {@link String}, {@link List} (tuples,
 *                    lists and sets), {@link Map} (dicts and objects, by their fields); a torch dtype or other
 *                    global becomes its name ({@code "torch.float32"}), a {@code torch.device} its string
 *                    ({@code "cuda:0"}); unmodifiable
 * @param tensors     the state dict in file order: each tensor's dtype, shape, strides and storage; unmodifiable
 */
public record TorchCheckpoint(String configClass, Map<String, Object> config, Map<String, TorchTensor> tensors) {

    /** Deeper nesting than this in a config is taken for a self-referencing structure. */
    private static final int MAX_CONFIG_DEPTH = 64;

    public TorchCheckpoint {
        Objects.requireNonNull(configClass, "configClass");
        config = Collections.unmodifiableMap(new LinkedHashMap<>(config));
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /**
     * Reads the config and the tensor layouts of a {@code .pt} file; no tensor data is read. Every tensor is
     * checked against the size of its storage's record.
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when it is not a zip-format torch checkpoint, is truncated or corrupt,
     *                                  asks to run code, or does not hold {@code {"cfg", "state_dict"}}; the
     *                                  message names the file and what is wrong (a pickle byte offset, a
     *                                  record, a tensor, a function)
     */
    public static TorchCheckpoint read(Path pt) throws IOException {
        try (TorchArchive archive = TorchArchive.open(pt)) {
            return parse(pt, archive);
        }
    }

    /**
     * Loads a reference checkpoint as a model: its config through {@link MxdConfig#fromReferenceFields}, its
     * tensors converted to F32 (from F32, F16, BF16 or F64, any strides and storage offset) into row-major
     * tensors in one shared {@link Arena} the model owns. Tensors the config does not use, such as
     * {@code b_dec}, are kept. The file is closed when this returns; the caller owns and closes the model.
     * On any failure nothing stays allocated or open.
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException as {@link #read}, and for a config mxd does not support, a tensor whose
     *                                  dtype is not floating point, or a tensor shape that contradicts the
     *                                  config (naming the tensor, both shapes and the config fields)
     */
    public static MxdModel load(Path pt) throws IOException {
        return load(pt, Arena::ofShared);
    }

    /** {@link #load(Path)} with the model's arena taken from {@code arenas} (tests watch it being closed). */
    static MxdModel load(Path pt, Supplier<Arena> arenas) throws IOException {
        try (TorchArchive archive = TorchArchive.open(pt)) {
            TorchCheckpoint checkpoint = parse(pt, archive);
            MxdConfig config;
            try {
                config = checkpoint.mxdConfig();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(pt + ": " + e.getMessage(), e);
            }
            checkpoint.tensors.forEach((name, t) -> {
                if (t.dtype().filter(DType::isFloating).isEmpty()) {
                    throw new IllegalArgumentException(pt + ": tensor '" + name + "' is " + t.torchDtype() + " (torch."
                            + t.storageClass() + "); mxd loads float32, float16, bfloat16 and float64 tensors");
                }
            });
            Arena arena = arenas.get();
            Map<String, Tensor> tensors;
            try {
                tensors = checkpoint.toF32(archive, arena);
            } catch (Throwable e) {
                arena.close();
                throw e;
            }
            try {
                return MxdModel.adopt(config, arena, tensors); // closes the arena when it throws
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(pt + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The config as an {@link MxdConfig}: kind, sizes, K, activation, GLU and skip from the reference's
     * field names; the other fields are kept in {@link MxdConfig#otherFields()}.
     *
     * @throws IllegalArgumentException for a config mxd does not support, naming the field
     */
    public MxdConfig mxdConfig() {
        try {
            return MxdConfig.fromReferenceFields(config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config " + configClass + ": " + e.getMessage(), e);
        }
    }

    private static TorchCheckpoint parse(Path pt, TorchArchive archive) throws IOException {
        byte[] pickle = archive.pickle();
        Object root;
        try {
            root = Unpickler.load(pickle);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(pt + ": " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> top) || !top.containsKey("cfg") || !top.containsKey("state_dict")) {
            throw new IllegalArgumentException(pt + ": holds a " + describeTop(root) + ", not the reference's"
                    + " {'cfg': config, 'state_dict': tensors} (SparseAutoencoder.save_model)");
        }
        String configClass;
        Object fields;
        Object cfg = top.get("cfg");
        if (cfg instanceof Instance obj) {
            configClass = obj.className;
            fields = obj.state;
        } else if (cfg instanceof Map<?, ?> map) {
            configClass = "builtins.dict";
            fields = map;
        } else {
            throw new IllegalArgumentException(pt + ": 'cfg' is a " + Unpickler.typeName(cfg)
                    + ", not a config object or dict");
        }
        Map<String, Object> config = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) fields).entrySet()) {
            if (!(e.getKey() instanceof String key)) {
                throw new IllegalArgumentException(pt + ": config field name " + Unpickler.describe(e.getKey())
                        + " is not a string");
            }
            config.put(key, plain(pt, e.getValue(), 1));
        }
        if (!(top.get("state_dict") instanceof Map<?, ?> stateDict)) {
            throw new IllegalArgumentException(pt + ": 'state_dict' is a " + Unpickler.typeName(top.get("state_dict"))
                    + ", not a dict of tensors");
        }
        Map<String, TorchTensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : stateDict.entrySet()) {
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof TorchTensor t)) {
                throw new IllegalArgumentException(pt + ": state_dict entry " + Unpickler.describe(e.getKey())
                        + " is a " + Unpickler.typeName(e.getValue()) + ", expected a tensor under a string name");
            }
            tensors.put(name, t);
        }
        checkStorages(archive, tensors);
        return new TorchCheckpoint(configClass, config, tensors);
    }

    /** Each storage record exists with the size the pickle declares; tensors sharing one agree on it. */
    private static void checkStorages(TorchArchive archive, Map<String, TorchTensor> tensors) {
        for (Map.Entry<String, List<String>> group : byStorage(tensors).entrySet()) {
            TorchTensor first = tensors.get(group.getValue().getFirst());
            for (String name : group.getValue()) {
                TorchTensor t = tensors.get(name);
                if (t.storageType() != first.storageType() || t.storageElements() != first.storageElements()) {
                    throw new IllegalArgumentException(archive + ": tensors '" + group.getValue().getFirst()
                            + "' and '" + name + "' describe storage '" + group.getKey() + "' differently");
                }
            }
            try {
                archive.checkStorage(group.getKey(), storageBytes(first));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (it holds tensor "
                        + String.join(", ", group.getValue()) + ")", e);
            }
        }
    }

    /** Tensor names grouped by storage key, in file order. */
    private static Map<String, List<String>> byStorage(Map<String, TorchTensor> tensors) {
        Map<String, List<String>> groups = new LinkedHashMap<>();
        tensors.forEach((name, t) -> groups.computeIfAbsent(t.storageKey(), k -> new ArrayList<>()).add(name));
        return groups;
    }

    private static long storageBytes(TorchTensor t) {
        try {
            return Math.multiplyExact(t.storageElements(), t.storageType().itemSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("storage '" + t.storageKey() + "' of " + t.storageElements()
                    + " elements overflows a 64-bit size");
        }
    }

    /**
     * Every tensor as row-major F32 in {@code arena}, reading each storage record once (their presence and
     * sizes were checked by parse). Fresh off-heap memory costs more to allocate (zeroing, page faults) than
     * to fill, so copies are avoided: a storage that is exactly one row-major F32 tensor, the common case
     * ({@code gate}, {@code W_cond}), is read straight into the model's memory; a strided F32 tensor (the
     * reference's transposed {@code W_enc}, {@code W_dec}) is gathered straight into it from one scratch
     * buffer that every other storage reuses.
     */
    private Map<String, Tensor> toF32(TorchArchive archive, Arena arena) throws IOException {
        Map<String, List<String>> groups = byStorage(tensors);
        long scratchBytes = 0;
        for (List<String> names : groups.values()) {
            if (!readsDirectly(names)) {
                scratchBytes = Math.max(scratchBytes, storageBytes(tensors.get(names.getFirst())));
            }
        }
        Map<String, Tensor> converted = new HashMap<>();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment buffer = scratch.allocate(scratchBytes, 64);
            for (Map.Entry<String, List<String>> group : groups.entrySet()) {
                TorchTensor first = tensors.get(group.getValue().getFirst());
                if (readsDirectly(group.getValue())) {
                    MemorySegment data = arena.allocate(storageBytes(first), 64);
                    archive.readStorage(group.getKey(), data);
                    converted.put(group.getValue().getFirst(), new Tensor(DType.F32, first.shape(), data));
                    continue;
                }
                MemorySegment storage = buffer.asSlice(0, storageBytes(first));
                archive.readStorage(group.getKey(), storage);
                for (String name : group.getValue()) {
                    converted.put(name, toF32(tensors.get(name), storage, arena, scratch));
                }
            }
        }
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        tensors.keySet().forEach(name -> ordered.put(name, converted.get(name)));
        return ordered;
    }

    /** Whether a storage is exactly one row-major F32 tensor, readable into the model's memory as it is. */
    private boolean readsDirectly(List<String> namesOfOneStorage) {
        TorchTensor t = tensors.get(namesOfOneStorage.getFirst());
        return namesOfOneStorage.size() == 1 && t.storageType() == StorageType.FLOAT && t.isRowMajor()
                && t.storageOffset() == 0 && t.elementCount() == t.storageElements();
    }

    /** One tensor of a storage already in memory, as a new row-major F32 tensor in {@code arena}. */
    private static Tensor toF32(TorchTensor t, MemorySegment storage, Arena arena, Arena scratch) {
        DType dtype = t.dtype().orElseThrow();
        int size = dtype.byteSize();
        long n = t.elementCount();
        if (n == 0) {
            return new Tensor(dtype, t.shape(), scratch.allocate(0)).toF32(arena);
        }
        if (t.isRowMajor()) {
            return new Tensor(dtype, t.shape(), storage.asSlice(t.storageOffset() * size, n * size)).toF32(arena);
        }
        if (dtype == DType.F32) {
            MemorySegment data = arena.allocate(n * size, 64);
            gather(t, storage, size, data);
            return new Tensor(dtype, t.shape(), data);
        }
        MemorySegment rowMajor = scratch.allocate(n * size, 64);
        gather(t, storage, size, rowMajor);
        return new Tensor(dtype, t.shape(), rowMajor).toF32(arena);
    }

    /**
     * Copies a strided view's elements into {@code out} in row-major order, bytes unchanged. Walks the last
     * dimension in the inner loop and the others like an odometer.
     */
    private static void gather(TorchTensor t, MemorySegment storage, int size, MemorySegment out) {
        long[] shape = t.shape();
        long[] stride = t.stride();
        int rank = shape.length;
        long inner = shape[rank - 1];
        long innerStep = stride[rank - 1] * size;
        long rows = t.elementCount() / inner;
        long[] index = new long[rank - 1];
        long base = t.storageOffset() * size;
        long dst = 0;
        for (long row = 0; row < rows; row++) {
            long src = base;
            for (long i = 0; i < inner; i++, src += innerStep, dst += size) {
                MemorySegment.copy(storage, src, out, dst, size);
            }
            for (int d = rank - 2; d >= 0; d--) {
                base += stride[d] * size;
                if (++index[d] < shape[d]) {
                    break;
                }
                base -= shape[d] * stride[d] * size;
                index[d] = 0;
            }
        }
    }

    /** A pickled value as a plain config value (see {@link #config()}). */
    private static Object plain(Path pt, Object v, int depth) {
        if (depth > MAX_CONFIG_DEPTH) {
            throw new IllegalArgumentException(pt + ": the config nests deeper than " + MAX_CONFIG_DEPTH
                    + " levels (or refers to itself)");
        }
        return switch (v) {
            case null -> null;
            case Boolean b -> b;
            case Long l -> l;
            case BigInteger b -> b;
            case Double d -> d;
            case String s -> s;
            case Global g -> g.qualifiedName();
            case Instance obj -> plain(pt, obj.state, depth + 1);
            case Tuple t -> plainList(pt, t.items(), depth);
            case Collection<?> c -> plainList(pt, c, depth);
            case byte[] bytes -> {
                List<Object> values = new ArrayList<>(bytes.length);
                for (byte b : bytes) {
                    values.add((long) (b & 0xFF));
                }
                yield Collections.unmodifiableList(values);
            }
            case Map<?, ?> map -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    Object key = plain(pt, e.getKey(), depth + 1);
                    out.put(key instanceof String s ? s : String.valueOf(key), plain(pt, e.getValue(), depth + 1));
                }
                yield Collections.unmodifiableMap(out);
            }
            case TorchTensor t -> "tensor " + t;
            case Storage s -> "storage '" + s.key() + "'";
            default -> throw new IllegalStateException("unexpected unpickled value " + v.getClass());
        };
    }

    private static List<Object> plainList(Path pt, Collection<?> items, int depth) {
        List<Object> out = new ArrayList<>(items.size());
        for (Object item : items) {
            out.add(plain(pt, item, depth + 1));
        }
        return Collections.unmodifiableList(out);
    }

    private static String describeTop(Object root) {
        if (root instanceof Map<?, ?> m) {
            List<String> keys = new ArrayList<>();
            m.keySet().forEach(k -> keys.add(Unpickler.describe(k)));
            return "dict with keys " + keys;
        }
        return Unpickler.typeName(root);
    }
}
