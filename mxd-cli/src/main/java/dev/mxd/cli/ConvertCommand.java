package dev.mxd.cli;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Converts a model to mxd's format: OUTDIR/mxd.safetensors (F32) and OUTDIR/cfg.json.",
                "Reads reference PyTorch .pt checkpoints (without Python: a restricted unpickler that runs no code),"
                        + " safetensors files and model directories."})
final class ConvertCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Reference .pt checkpoint, .safetensors file or model directory.")
    Path source;

    @Parameters(index = "1", paramLabel = "OUTDIR", description = "Output directory (created; each file written atomically).")
    Path outDir;

    @Override
    public Integer call() throws Exception {
        try (MxdModel model = ModelFiles.load(source)) {
            ModelFiles.save(model, outDir);
            MxdConfig c = model.config();
            spec.commandLine().getOut().printf("%s -> %s: %s, %d tensors, %,d parameters%n", source,
                    outDir.resolve("mxd.safetensors"), c.kind(), model.tensors().size(), c.parameterCount());
        }
        return 0;
    }
}
