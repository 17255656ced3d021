package dev.mxd.cli;

import dev.mxd.checkpoint.Json;
import dev.mxd.text.experts.TopContexts;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "top", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Top-activating contexts: in one streamed pass over a split, every expert's M highest values with"
                + " where they come from (doc, pos, token) and the document's own text around the token (about 10"
                + " tokens each side, the firing token marked), plus a few samples from lower quantiles of its values.",
                "--expert n prints one expert; with --json stdout holds one JSON object: {\"expert\", \"frequency\","
                        + " \"count\", \"examples\": [{\"doc\", \"pos\", \"token\", \"value\", \"context\": {\"before\","
                        + " \"text\", \"after\"}}], \"samples\": [... \"quantile\" ...]}, examples by value descending,"
                        + " ties by (doc, pos). --all --out FILE writes every expert's object, one a line after a header line (JSON Lines).",
                "The text comes from the corpus and tokenizer recorded in DIR/manifest.json; frequency is over the split."})
final class TopCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ExpertPassOptions pass;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
        @Option(names = "--expert", paramLabel = "n", description = "The expert (TC, STC: hidden unit) to print.")
        Integer expert;

        @Option(names = "--all", description = "Every expert, written to --out FILE.")
        boolean all;
    }

    @Option(names = "--out", paramLabel = "FILE", description = "With --all: the output file (JSON Lines, written atomically).")
    Path out;

    @Option(names = "--m", paramLabel = "M", defaultValue = "" + TopContexts.DEFAULT_M,
            description = "Examples per expert (default: ${DEFAULT-VALUE}).")
    int m;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (which.all && out == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--all needs --out FILE");
        }
        if (!which.all && out != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out goes with --all");
        }
        if (m < 1) {
            throw new IllegalArgumentException("--m must be >= 1, got " + m);
        }
        long started = System.nanoTime();
        try (ExpertData d = pass.open()) {
            int[] only = which.all ? null : new int[] {d.checkExpert(which.expert)};
            int n = d.model.config().codeSpace();
            ExpertData.Computed computed = d.statsAndTop(pass.model, pass.data, m, only, pass.batch);
            TopContexts contexts = computed.contexts();
            String note = computed.note();
            double seconds = (System.nanoTime() - started) / 1e9;
            PrintWriter o = spec.commandLine().getOut();
            if (which.all) {
                contexts.write(out);
                if (!json) {
                    o.printf(Locale.ROOT, "%,d experts, %d examples each, from %,d tokens of %s in %.1f s: wrote %s%n", n, m,
                            computed.stats().tokens(), pass.data.resolve(pass.split), seconds, out);
                }
                if (note != null) {
                    spec.commandLine().getErr().println("mxd: " + note);
                }
                return 0;
            }
            TopContexts.Expert e = contexts.expert(0);
            if (json) {
                o.println(Json.writeCompact(e.toJson()));
            } else {
                print(o, e, d, seconds, note);
            }
        }
        return 0;
    }

    private void print(PrintWriter o, TopContexts.Expert e, ExpertData d, double seconds, String note) {
        o.printf(Locale.ROOT, "expert %d of %s (%s K=%d) on %s: fires on %.4f%% of %,d tokens (%,d); %.1f s, backend %s%n",
                e.expert(), pass.model, d.model.config().kind(), d.model.config().k(), pass.data.resolve(pass.split),
                100 * e.frequency(), d.split.tokens(), e.count(), seconds, d.backend.name());
        if (note != null) {
            o.println(note);
        }
        o.printf("%10s %7s %5s  %s%n", "value", "doc", "pos", "context");
        for (TopContexts.Example x : e.examples()) {
            line(o, x, "");
        }
        if (!e.samples().isEmpty()) {
            o.println("samples at lower quantiles of its values:");
            for (TopContexts.Example x : e.samples()) {
                line(o, x, String.format(Locale.ROOT, "q%.1f ", x.quantile()));
            }
        }
    }

    private static void line(PrintWriter o, TopContexts.Example x, String prefix) {
        String text = x.context() == null ? "token " + x.token()
                : (x.context().before() + "[[" + x.context().text() + "]]" + x.context().after()).replaceAll("\\s+", " ");
        o.printf(Locale.ROOT, "%10.4f %7d %5d  %s%s%n", x.value(), x.doc(), x.pos(), prefix, text);
    }
}
