package dev.mxd.checkpoint;

import dev.mxd.MxdModel;
import java.io.IOException;
import java.nio.file.Path;

/** Model paths (DESIGN §4): a directory with mxd.safetensors + cfg.json, a .safetensors file, or a .pt. */
public final class ModelFiles {
    private ModelFiles() {
    }

    public static MxdModel load(Path path) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    public static void save(MxdModel model, Path dir) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }
}
