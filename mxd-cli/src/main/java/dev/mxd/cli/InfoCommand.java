package dev.mxd.cli;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Prints a model's kind, sizes, parameter count, tensor table and config.")
final class InfoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PATH", description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path path;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (MxdModel model = ModelFiles.load(path)) {
            MxdConfig c = model.config();
            out.printf("%s%n", path);
            out.printf("kind        %s%n", c.kind());
            out.printf("sizes       I=%d  H=%d  %sO=%d  K=%d%n", c.inputDim(), c.hiddenDim(),
                    c.experts() > 0 ? "N=" + c.experts() + "  " : "", c.outputDim(), c.k());
            out.printf("activation  %s%s%s%n", c.activation().referenceName(), c.glu() ? ", GLU" : "", c.skip() ? ", skip" : "");
            out.printf("parameters  %,d (b_dec excluded: stored, unused by %s)%n", c.parameterCount(), c.kind());
            out.printf("%ntensors (F32 once loaded)%n");
            int width = model.tensors().keySet().stream().mapToInt(String::length).max().orElse(4);
            for (Map.Entry<String, Tensor> e : model.tensors().entrySet()) {
                Tensor t = e.getValue();
                out.printf("  %-" + width + "s  %-16s %,14d%n", e.getKey(), Arrays.toString(t.shape()), t.elementCount());
            }
            out.printf("%nconfig%n%s%n", Json.writePretty(c.toReferenceFields()));
        }
        return 0;
    }
}
