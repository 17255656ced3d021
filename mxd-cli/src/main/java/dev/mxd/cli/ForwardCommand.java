package dev.mxd.cli;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Runs a model over input activations.",
                "Reads x [T, I] from the input safetensors file; writes y [T, O] (F32), codes.index [T, K] (I32) and"
                        + " codes.value [T, K] (F32) to the output safetensors file."})
final class ForwardCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    LayerInput run;

    @Option(names = "--output", required = true, paramLabel = "Y.safetensors", description = "Output file (written atomically).")
    Path output;

    @Override
    public Integer call() throws Exception {
        try (LayerRun r = run.open(null)) {
            MemorySegment y = r.newY();
            Codes codes = r.newCodes();
            long started = System.nanoTime();
            r.layer.forward(r.x.data(), r.tokens, y, codes);
            double seconds = (System.nanoTime() - started) / 1e9;
            r.write(output, y, codes);
            MxdConfig cfg = r.cfg;
            spec.commandLine().getOut().printf("%s: %d tokens, %s (I=%d, O=%d, K=%d), backend %s (%s): %.3f s, %,.0f tokens/s -> %s%n",
                    run.model, r.tokens, cfg.kind(), cfg.inputDim(), cfg.outputDim(), cfg.k(), r.backend.name(),
                    r.backend.availability().detail(), seconds, r.tokens / seconds, output);
        }
        return 0;
    }
}
