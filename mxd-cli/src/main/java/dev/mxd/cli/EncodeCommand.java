package dev.mxd.cli;

import dev.mxd.Codes;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "encode", mixinStandardHelpOptions = true,
        description = {"The first step of the forward pass: each token's K codes.",
                "Reads x [T, I] from the input safetensors file; writes codes.index [T, K] (I32) and codes.value [T, K]"
                        + " (F32), the names ./mxd forward writes, sorted by value descending. Edit them in any tool and"
                        + " give them to ./mxd decode."})
final class EncodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    LayerInput run;

    @Option(names = "--output", required = true, paramLabel = "CODES.safetensors", description = "Output file (written atomically).")
    Path output;

    @Override
    public Integer call() throws Exception {
        try (LayerRun r = run.open(null)) {
            Codes codes = r.newCodes();
            r.layer.encode(r.x.data(), r.tokens, codes);
            r.write(output, null, codes);
            spec.commandLine().getOut().printf("%s: %d tokens, %s K=%d, backend %s -> %s%n", run.model, r.tokens,
                    r.cfg.kind(), r.cfg.k(), r.backend.name(), output);
        }
        return 0;
    }
}
