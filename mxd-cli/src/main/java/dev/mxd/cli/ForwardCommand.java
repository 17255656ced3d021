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
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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
        try (MxdModel m = ModelFiles.load(run.model);
             SafetensorsFile in = SafetensorsFile.open(run.input);
             // Shared, not confined: the cpu backend's worker threads use these segments as they are, where a
             // confined one would be copied through the heap on the way in and out.
             Arena arena = Arena.ofShared()) {
            MxdConfig cfg = m.config();
            Tensor x32 = LayerFiles.x(in, run.input, cfg, arena);
            int tokens = (int) x32.shape()[0];
            Backend chosen = run.backend();
            MemorySegment y = arena.allocate((long) tokens * cfg.outputDim() * Float.BYTES, 64);
            Codes codes = Codes.allocate(arena, tokens, cfg.k());
            long started;
            long elapsed;
            try (MxdLayer layer = chosen.load(m)) {
                started = System.nanoTime();
                layer.forward(x32.data(), tokens, y, codes);
                elapsed = System.nanoTime() - started;
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("y", new Tensor(DType.F32, new long[] {tokens, cfg.outputDim()}, y));
            out.put("codes.index", new Tensor(DType.I32, new long[] {tokens, cfg.k()}, codes.indexSegment()));
            out.put("codes.value", new Tensor(DType.F32, new long[] {tokens, cfg.k()}, codes.valueSegment()));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("model", run.model.toString());
            meta.put("backend", chosen.name());
            SafetensorsWriter.write(output, out, meta);
            double seconds = elapsed / 1e9;
            spec.commandLine().getOut().printf("%s: %d tokens, %s (I=%d, O=%d, K=%d), backend %s (%s): %.3f s, %,.0f tokens/s -> %s%n",
                    run.model, tokens, cfg.kind(), cfg.inputDim(), cfg.outputDim(), cfg.k(), chosen.name(),
                    chosen.availability().detail(), seconds, tokens / seconds, output);
        }
        return 0;
    }
}
