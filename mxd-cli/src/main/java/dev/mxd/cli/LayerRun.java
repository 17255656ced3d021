package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code forward}, {@code encode} and {@code decode} open: the model, its input x checked against it, the codes
 * of a codes file when one is given, and the layer on the backend asked for; then the output they write. The
 * caller closes it, which releases all of it, the layer first.
 */
final class LayerRun implements AutoCloseable {
    final Path modelPath;
    final MxdConfig cfg;
    /** x [T, I] as float32. */
    final Tensor x;
    /** T. */
    final int tokens;
    /** The codes file's codes, or null when none was given. */
    final Codes codes;
    final Backend backend;
    final MxdLayer layer;
    private final Arena arena;
    /** What {@link #close()} closes, the last opened first. */
    private final Deque<AutoCloseable> opened;

    private LayerRun(Path modelPath, MxdConfig cfg, Tensor x, Codes codes, Backend backend, MxdLayer layer,
                     Arena arena, Deque<AutoCloseable> opened) {
        this.modelPath = modelPath;
        this.cfg = cfg;
        this.x = x;
        this.tokens = (int) x.shape()[0];
        this.codes = codes;
        this.backend = backend;
        this.layer = layer;
        this.arena = arena;
        this.opened = opened;
    }

    /**
     * Opens the model and the input {@code options} name, and {@code codesFile} unless null; reads and checks them in
     * that order, then selects the backend and loads the layer.
     *
     * @throws IllegalArgumentException when x or the codes do not fit the model (see {@link LayerFiles})
     */
    static LayerRun open(LayerInput options, Path codesFile) throws Exception {
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        try {
            MxdModel model = push(opened, ModelFiles.load(options.model));
            SafetensorsFile in = push(opened, SafetensorsFile.open(options.input));
            SafetensorsFile codesIn = codesFile == null ? null : push(opened, SafetensorsFile.open(codesFile));
            // Shared, not confined: the cpu backend's worker threads use these segments as they are, where a
            // confined one would be copied through the heap on the way in and out.
            Arena arena = push(opened, Arena.ofShared());
            MxdConfig cfg = model.config();
            Tensor x = LayerFiles.x(in, options.input, cfg, arena);
            Codes codes = codesIn == null ? null : LayerFiles.codes(codesIn, codesFile, (int) x.shape()[0], arena);
            Backend backend = options.backend.select();
            MxdLayer layer = push(opened, backend.load(model));
            return new LayerRun(options.model, cfg, x, codes, backend, layer, arena, opened);
        } catch (Exception | Error e) {
            closeAll(opened, e);
            throw e;
        }
    }

    /** y [T, O] (F32) for the layer to write; freed by {@link #close()}. */
    MemorySegment newY() {
        return arena.allocate((long) tokens * cfg.outputDim() * Float.BYTES, 64);
    }

    /** Codes [T, K] for the layer to write; freed by {@link #close()}. */
    Codes newCodes() {
        return Codes.allocate(arena, tokens, cfg.k());
    }

    /**
     * Writes {@code y} [T, O] unless null, then {@code codes} as {@code codes.index} and {@code codes.value} unless
     * null, to {@code output} (atomically), with the model's path and the backend's name as metadata.
     */
    void write(Path output, MemorySegment y, Codes codes) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (y != null) {
            out.put("y", new Tensor(DType.F32, new long[] {tokens, cfg.outputDim()}, y));
        }
        if (codes != null) {
            long[] shape = {tokens, codes.width()};
            out.put("codes.index", new Tensor(DType.I32, shape, codes.indexSegment()));
            out.put("codes.value", new Tensor(DType.F32, shape.clone(), codes.valueSegment()));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", modelPath.toString());
        meta.put("backend", backend.name());
        SafetensorsWriter.write(output, out, meta);
    }

    @Override
    public void close() throws Exception {
        closeAll(opened, null);
    }

    private static <T extends AutoCloseable> T push(Deque<AutoCloseable> opened, T resource) {
        opened.push(resource);
        return resource;
    }

    /** Closes each, the last opened first, as try-with-resources would; a failure is thrown, or added to {@code cause}. */
    private static void closeAll(Deque<AutoCloseable> opened, Throwable cause) throws Exception {
        Exception first = null;
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (Exception e) {
                if (cause != null) {
                    cause.addSuppressed(e);
                } else if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
