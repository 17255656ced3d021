package dev.mxd.cli;

import dev.mxd.explore.Atlas;
import dev.mxd.explore.ProbeLabels;
import dev.mxd.explore.SiteWriter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "explore", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes the explorer: a static site of the model's experts that opens from file:// with no server"
                + " and no network. SITE/index.html lists every expert (firing frequency, max value, the probe's label"
                + " with --probes, a small histogram), sortable, filterable and paginated; SITE/experts/N.html shows"
                + " an expert's value histogram, its top contexts (the documents' text, the firing token marked and"
                + " shaded by value) and samples from lower quantiles.",
                "Reads the files of ./mxd stats (--stats) and ./mxd top --all (--top); when a file is not given or"
                        + " does not exist, computes it in one pass over the split (and writes it there when named)."})
final class ExploreCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ExpertFiles.Options files;

    @Option(names = "--out", required = true, paramLabel = "SITE",
            description = "The site's directory (replaced only when it is a site this command wrote).")
    Path out;

    @Option(names = "--probes", paramLabel = "P.json",
            description = "The output of ./mxd probe --json: each language's best expert is labelled in the index.")
    Path probes;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Map<Integer, String> labels = probes == null ? Map.of() : ProbeLabels.read(probes, files.model);
        Atlas atlas = ExpertFiles.atlas(files, spec.commandLine().getErr());
        SiteWriter.Summary s = SiteWriter.write(atlas, labels, out);
        o.printf(Locale.ROOT, "%,d expert pages in %.1f s: open %s%n", s.experts(), s.seconds(),
                s.site().resolve("index.html").toUri());
        return 0;
    }
}
