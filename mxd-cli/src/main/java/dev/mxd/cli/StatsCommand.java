package dev.mxd.cli;

import dev.mxd.text.experts.ExpertStatistics;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "stats", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Per-expert statistics in one streamed pass over a split of an activation directory: how often each"
                + " expert (TC, STC: hidden unit) fires, its mean and largest value, a histogram of its values in"
                + " log-spaced bins; the dead (never fire) and dense (fire on more than 10%% of tokens) counts.",
                "Writes count, frequency, mean, max, negative (values below 0) [N] and histogram [N, 34] (|value|: below"
                        + " 1e-4, quarter decades to 1e4, above) to FILE (safetensors), and a JSON summary beside it (FILE"
                        + " with .json for .safetensors): tokens, L0, dead, dense, the most frequent experts. Memory"
                        + " grows with N, not with the tokens."})
final class StatsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ExpertPassOptions pass;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Output safetensors file (written atomically).")
    Path out;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        try (ExpertData d = pass.open()) {
            ExpertStatistics.Accumulator acc = ExpertStatistics.accumulator(d.model.config().codeSpace());
            d.pass(acc, List.of(), pass.batch);
            ExpertStatistics s = acc.finish(d.about(pass.model, pass.data));
            s.write(out);
            double seconds = (System.nanoTime() - started) / 1e9;
            PrintWriter o = spec.commandLine().getOut();
            o.printf(Locale.ROOT, "%s on %s (%,d tokens, backend %s, %.1f s): L0 %.2f, dead %,d and dense %,d of %,d"
                            + " experts (dense: more than %.0f%% of the %,d tokens)%nwrote %s and %s%n", pass.model,
                    pass.data.resolve(pass.split), s.tokens(), d.backend.name(), seconds, s.l0(), s.dead(), s.dense(),
                    s.codeSpace(), 100 * ExpertStatistics.DENSE_FREQUENCY, s.tokens(), out,
                    ExpertStatistics.summaryPath(out));
        }
        return 0;
    }
}
