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
        try (MxdModel m = ModelFiles.load(run.model);
             SafetensorsFile in = SafetensorsFile.open(run.input);
             SafetensorsFile codeIn = SafetensorsFile.open(codesFile);
             Arena arena = Arena.ofShared()) {
            MxdConfig cfg = m.config();
            Tensor x = LayerFiles.x(in, run.input, cfg, arena);
            int tokens = (int) x.shape()[0];
            Codes codes = LayerFiles.codes(codeIn, codesFile, tokens, arena);
            Backend chosen = run.backend();
            MemorySegment y = arena.allocate((long) tokens * cfg.outputDim() * Float.BYTES, 64);
            try (MxdLayer layer = chosen.load(m)) {
                layer.decode(x.data(), tokens, codes, y);
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("y", new Tensor(DType.F32, new long[] {tokens, cfg.outputDim()}, y));
            SafetensorsWriter.write(output, out, Map.of("model", run.model.toString(), "backend", chosen.name()));
            spec.commandLine().getOut().printf("%s: %d tokens, codes of width %d, %s, backend %s -> %s%n", run.model, tokens,
                    codes.width(), cfg.kind(), chosen.name(), output);
        }
        return 0;
    }
}
