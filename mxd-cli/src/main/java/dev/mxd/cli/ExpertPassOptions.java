package dev.mxd.cli;

import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of the commands that read a model's experts in one pass over a split (stats, top). */
final class ExpertPassOptions {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Activation directory from ./mxd harvest.")
    Path data;

    @Option(names = "--split", paramLabel = "eval|train", defaultValue = "eval",
            description = "The split to read (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--batch", paramLabel = "TOKENS", defaultValue = "4096", description = "Tokens per encode call (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    BackendOption backend;

    /** The model, the split and the backend these options name; the caller closes it. */
    ExpertData open() throws Exception {
        return ExpertData.open(model, data, split, backend);
    }
}
