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
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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
        try (MxdModel m = ModelFiles.load(run.model);
             SafetensorsFile in = SafetensorsFile.open(run.input);
             Arena arena = Arena.ofShared()) {
            MxdConfig cfg = m.config();
            Tensor x = LayerFiles.x(in, run.input, cfg, arena);
            int tokens = (int) x.shape()[0];
            Backend chosen = run.backend();
            Codes codes = Codes.allocate(arena, tokens, cfg.k());
            try (MxdLayer layer = chosen.load(m)) {
                layer.encode(x.data(), tokens, codes);
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("codes.index", new Tensor(DType.I32, new long[] {tokens, cfg.k()}, codes.indexSegment()));
            out.put("codes.value", new Tensor(DType.F32, new long[] {tokens, cfg.k()}, codes.valueSegment()));
            SafetensorsWriter.write(output, out, Map.of("model", run.model.toString(), "backend", chosen.name()));
            spec.commandLine().getOut().printf("%s: %d tokens, %s K=%d, backend %s -> %s%n", run.model, tokens, cfg.kind(),
                    cfg.k(), chosen.name(), output);
        }
        return 0;
    }
}
