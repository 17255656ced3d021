package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Backends;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options of the commands that run a model over a file of inputs (forward, encode, decode). */
final class LayerInput {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X.safetensors", description = "Input file holding x [T, I].")
    Path input;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, opencl, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto).")
    String backend;

    /** The backend {@code --backend} names, else the one {@link Backends#select()} picks. */
    Backend backend() {
        return backend == null ? Backends.select() : Backends.select(backend);
    }
}
