package dev.mxd.cli;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "decode", mixinStandardHelpOptions = true,
        description = {"The second step of the forward pass, with codes of any width: an index may repeat (the values"
                + " add) or be an expert outside the token's top K (steering); value 0 pads.",
                "Reads x [T, I] from the input file and codes.index [T, W] (I32) and codes.value [T, W] from the codes"
                        + " file (./mxd encode writes them); writes y [T, O] (F32) as ./mxd forward does."})
final class DecodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    LayerInput run;

    @Option(names = "--codes", required = true, paramLabel = "CODES.safetensors",
            description = "File holding codes.index [T, W] and codes.value [T, W].")
    Path codesFile;

    @Option(names = "--output", required = true, paramLabel = "Y.safetensors", description = "Output file (written atomically).")
    Path output;

    @Override
    public Integer call() throws Exception {
        try (LayerRun r = run.open(codesFile)) {
            MemorySegment y = r.newY();
            r.layer.decode(r.x.data(), r.tokens, r.codes, y);
            r.write(output, y, null);
            spec.commandLine().getOut().printf("%s: %d tokens, codes of width %d, %s, backend %s -> %s%n", run.model,
                    r.tokens, r.codes.width(), r.cfg.kind(), r.backend.name(), output);
        }
        return 0;
    }
}
