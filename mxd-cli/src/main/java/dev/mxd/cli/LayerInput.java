package dev.mxd.cli;

import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of the commands that run a model over a file of inputs (forward, encode, decode). */
final class LayerInput {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X.safetensors", description = "Input file holding x [T, I].")
    Path input;

    @Mixin
    BackendOption backend;

    /**
     * The model and input these options name, and {@code codesFile} unless null, checked and loaded on the backend
     * asked for; the caller closes it.
     */
    LayerRun open(Path codesFile) throws Exception {
        return LayerRun.open(this, codesFile);
    }
}
