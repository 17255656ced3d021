package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.ActivationSource;
import dev.mxd.train.Metrics;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluates a model on the held-out pairs DIR/eval (DESIGN §2): the normalised loss, FVU, NMSE,"
                + " L0 and the fraction of experts (TC: hidden units) that never fire there.",
                "With --json, prints one JSON object: {\"fvu\", \"nmse\", \"l0\", \"dead_fraction\", \"loss\", \"tokens\","
                        + " \"dead\", \"code_space\", \"backend\"}."})
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Activation directory; DIR/eval is read.")
    Path data;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--tokens", paramLabel = "TOKENS", defaultValue = "0",
            description = "Evaluate the first this many DIR/eval tokens (default: all).")
    long tokens;

    @Option(names = "--batch", paramLabel = "TOKENS", defaultValue = "4096", description = "Tokens per forward call (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, opencl, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto).")
    String backend;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || tokens < 0) {
            throw new IllegalArgumentException("--batch must be >= 1 and --tokens >= 0, got " + batch + " and " + tokens);
        }
        try (MxdModel m = MxdModel.load(model);
             ActivationDirectory dir = ActivationDirectory.open(data)) {
            MxdConfig cfg = m.config();
            if (dir.inputDim() != cfg.inputDim() || dir.outputDim() != cfg.outputDim()) {
                throw new IllegalArgumentException(data + " has x rows of " + dir.inputDim() + " and t rows of "
                        + dir.outputDim() + " values, but the model has d_in = " + cfg.inputDim() + " and d_out = "
                        + cfg.outputDim());
            }
            ActivationSource.Split eval = dir.eval();
            long total = tokens > 0 ? Math.min(tokens, eval.tokens()) : eval.tokens();
            if (total < 1) {
                throw new IllegalArgumentException("the held-out split " + data.resolve("eval") + " is empty or missing");
            }
            Backend chosen = backend == null ? Backends.select() : Backends.select(backend);
            Metrics metrics = new Metrics(cfg.outputDim(), cfg.codeSpace());
            int chunk = (int) Math.min(batch, total);
            float[] x = new float[chunk * cfg.inputDim()];
            float[] t = new float[chunk * cfg.outputDim()];
            float[] y = new float[chunk * cfg.outputDim()];
            long started = System.nanoTime();
            try (MxdLayer layer = chosen.load(m)) {
                for (long row = 0; row < total; row += chunk) {
                    int n = (int) Math.min(chunk, total - row);
                    eval.read(row, n, x, t, 0);
                    checkTargets(eval, row, t, n, cfg.outputDim());
                    Codes codes = Codes.onHeap(n, cfg.k());
                    MemorySegment ys = MemorySegment.ofArray(y).asSlice(0, (long) n * cfg.outputDim() * Float.BYTES);
                    layer.forward(MemorySegment.ofArray(x).asSlice(0, (long) n * cfg.inputDim() * Float.BYTES), n, ys, codes);
                    metrics.add(ys, MemorySegment.ofArray(t).asSlice(0, (long) n * cfg.outputDim() * Float.BYTES), codes, n);
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            Metrics.Summary s = metrics.summary();
            long dead = java.util.Arrays.stream(metrics.firingCounts()).filter(c -> c == 0).count();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.printf(Locale.ROOT, "{\"fvu\": %s, \"nmse\": %s, \"l0\": %s, \"dead_fraction\": %s, \"loss\": %s,"
                                + " \"tokens\": %d, \"dead\": %d, \"code_space\": %d, \"backend\": \"%s\"}%n",
                        number(s.fvu()), number(s.nmse()), number(s.l0()), number(s.deadFraction()), number(s.loss()),
                        s.tokens(), dead, cfg.codeSpace(), chosen.name());
            } else {
                out.printf(Locale.ROOT, "%s on %s (%,d tokens, backend %s, %.2f s):%n  loss %.6g (normalised, without"
                                + " the reference's -1)%n  FVU  %.5f%n  NMSE %.5f%n  L0   %.3f%n  dead %,d of %,d (%.2f%%)%n",
                        model, data.resolve("eval"), s.tokens(), chosen.name(), seconds, s.loss(), s.fvu(), s.nmse(),
                        s.l0(), dead, cfg.codeSpace(), 100 * s.deadFraction());
            }
        }
        return 0;
    }

    private static void checkTargets(ActivationSource.Split eval, long row0, float[] t, int n, int width) {
        for (int r = 0; r < n; r++) {
            double s = 0;
            for (int j = r * width; j < (r + 1) * width; j++) {
                s += (double) t[j] * t[j];
            }
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("target row with norm " + Math.sqrt(s) + " at " + eval.describe(row0 + r)
                        + ": the normalised loss divides by ‖t‖, so zero (or non-finite) target rows are not allowed");
            }
        }
    }

    /** A JSON number; JSON has no NaN or infinity, so those become null. */
    private static String number(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }
}
