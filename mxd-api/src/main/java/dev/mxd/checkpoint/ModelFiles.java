package dev.mxd.checkpoint;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.torch.TorchCheckpoint;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Model paths (DESIGN §4). A model is found at
 * <ul>
 *   <li>a directory holding {@code mxd.safetensors} (and normally {@code cfg.json});</li>
 *   <li>a {@code .safetensors} file, whose config is the {@code cfg.json} beside it or, when there is none,
 *       the JSON text under the header's {@code __metadata__.cfg} ({@code cfg.json} wins where both exist);</li>
 *   <li>a reference {@code .pt} checkpoint.</li>
 * </ul>
 * A directory is read by the {@code .safetensors} rule applied to its {@code mxd.safetensors}.
 */
public final class ModelFiles {
    /** The weights' file name in a model directory. */
    public static final String WEIGHTS_FILE = "mxd.safetensors";
    /** The header {@code __metadata__} key holding the config JSON text. */
    public static final String METADATA_CFG = "cfg";

    private ModelFiles() {
    }

    /**
     * Loads the model at {@code path}. Floating tensors (F32, F16, BF16, F64) are converted to F32 copies in
     * a new shared arena the model owns; the file is unmapped before this returns, so it may be replaced
     * afterwards. Every tensor the config needs must be present with its shape; tensors it does not name
     * are kept when floating, and integer tensors it does not name (counters, indices of a training
     * checkpoint) are not part of a model and are skipped. The caller closes the result.
     *
     * <p>On failure nothing outlives the call: the mapping and any memory allocated are released before the
     * exception leaves.
     *
     * @throws IOException              for a missing or unreadable file
     * @throws IllegalArgumentException for malformed content, naming the file and the tensor, offset, field
     *                                  or expected and actual shape; for a path of no known kind
     */
    public static MxdModel load(Path path) throws IOException {
        return load(path, Arena::ofShared);
    }

    /** {@link #load(Path)} with the model's arena from {@code arenas}: tests check it is closed on failure. */
    static MxdModel load(Path path, Supplier<Arena> arenas) throws IOException {
        if (Files.isDirectory(path)) {
            Path weights = path.resolve(WEIGHTS_FILE);
            if (!Files.exists(weights)) {
                throw new NoSuchFileException(weights.toString(), null, "a model directory holds " + WEIGHTS_FILE
                        + " and " + ConfigJson.FILE_NAME);
            }
            return loadSafetensors(weights, arenas);
        }
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        if (name.endsWith(".safetensors")) {
            return loadSafetensors(path, arenas);
        }
        if (name.endsWith(".pt")) {
            return loadReferencePt(path);
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString());
        }
        throw new IllegalArgumentException(path + " is not a model path: expected a directory holding "
                + WEIGHTS_FILE + " and " + ConfigJson.FILE_NAME + ", a .safetensors file or a reference .pt checkpoint");
    }

    /** Reference PyTorch checkpoints, read by the restricted unpickler of DESIGN §4. */
    private static MxdModel loadReferencePt(Path path) throws IOException {
        return TorchCheckpoint.load(path);
    }

    private static MxdModel loadSafetensors(Path file, Supplier<Arena> arenas) throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            MxdConfig config = config(st);
            Arena arena = arenas.get();
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try {
                Map<String, long[]> needed = config.tensorShapes();
                for (String name : st.names()) {
                    Tensor t = st.tensor(name);
                    if (t.dtype().isFloating()) {
                        tensors.put(name, t.toF32(arena));
                    } else if (needed.containsKey(name)) {
                        throw new IllegalArgumentException(file + ": tensor '" + name + "' is " + t.dtype()
                                + "; weights must be F32, F16, BF16 or F64");
                    }
                }
            } catch (Throwable t) {
                arena.close();
                throw t;
            }
            try {
                return MxdModel.adopt(config, arena, tensors);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }
    }

    /** The config: {@code cfg.json} beside the file if present, else the header's {@code __metadata__.cfg}. */
    private static MxdConfig config(SafetensorsFile st) throws IOException {
        Path beside = st.path().resolveSibling(ConfigJson.FILE_NAME);
        if (Files.exists(beside)) {
            return ConfigJson.read(beside);
        }
        String text = st.metadata().get(METADATA_CFG);
        if (text == null) {
            throw new IllegalArgumentException(st.path() + " has no config: no " + ConfigJson.FILE_NAME
                    + " beside it and no " + SafetensorsFile.METADATA_KEY + "." + METADATA_CFG + " in its header");
        }
        return ConfigJson.parse(text, SafetensorsFile.METADATA_KEY + "." + METADATA_CFG + " of " + st.path());
    }

    /**
     * Writes {@code dir/mxd.safetensors} (every tensor as F32, the config JSON also under
     * {@code __metadata__.cfg}) and {@code dir/cfg.json}, creating {@code dir}. Both files are written and
     * forced to disk before either replaces its predecessor, so a failed write leaves the previous pair
     * intact.
     */
    public static void save(MxdModel model, Path dir) throws IOException {
        save(model, dir, AtomicWrite.Sink.DIRECT);
    }

    /** {@link #save(MxdModel, Path)} writing through {@code sink}: tests inject I/O failures there. */
    static void save(MxdModel model, Path dir, AtomicWrite.Sink sink) throws IOException {
        String json = ConfigJson.toJson(model.config());
        Files.createDirectories(dir);
        AtomicWrite.Content weights = SafetensorsWriter.content(model.tensors(), Map.of(METADATA_CFG, json));
        try (AtomicWrite.Pending w = AtomicWrite.prepare(dir.resolve(WEIGHTS_FILE), weights, sink);
             AtomicWrite.Pending c = AtomicWrite.prepare(dir.resolve(ConfigJson.FILE_NAME), AtomicWrite.utf8(json), sink)) {
            w.commit();
            c.commit();
        }
    }
}
