package dev.mxd.cli;

import dev.mxd.explore.Atlas;
import dev.mxd.explore.ExpertAtlas;
import dev.mxd.text.experts.ExpertStatistics;
import dev.mxd.text.experts.TopContexts;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What {@code explore} and {@code serve} show: the files of {@code ./mxd stats} and {@code ./mxd top --all} for a
 * model, read when they exist and computed in one pass over the split when not (and then written where named).
 */
final class ExpertFiles {
    private ExpertFiles() {
    }

    /** The options naming the model, its data and the two files. */
    static final class Options {
        @Option(names = "--model", required = true, paramLabel = "PATH",
                description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
        Path model;

        @Option(names = "--data", required = true, paramLabel = "DIR",
                description = "The activation directory the model was trained on (./mxd harvest).")
        Path data;

        @Option(names = "--stats", paramLabel = "FILE",
                description = "The file of ./mxd stats: read when it exists, else computed and written there.")
        Path stats;

        @Option(names = "--top", paramLabel = "FILE",
                description = "The file of ./mxd top --all: read when it exists, else computed and written there.")
        Path top;

        @Option(names = "--m", paramLabel = "M", defaultValue = "" + TopContexts.DEFAULT_M,
                description = "Top contexts per expert when they are computed (default: ${DEFAULT-VALUE}).")
        int m;

        @Option(names = "--split", paramLabel = "eval|train", defaultValue = "eval",
                description = "The split the statistics are computed on (default: ${DEFAULT-VALUE}).")
        String split;

        @Option(names = "--batch", paramLabel = "TOKENS", defaultValue = "4096",
                description = "Tokens per encode call (default: ${DEFAULT-VALUE}).")
        int batch;

        @Mixin
        BackendOption backend;
    }

    /**
     * The atlas of the model's experts.
     *
     * @param err where a note goes (the contexts have no text, the files were computed)
     * @throws IllegalArgumentException when a file given was computed for another model
     */
    static Atlas atlas(Options o, PrintWriter err) throws Exception {
        if (o.m < 1) {
            throw new IllegalArgumentException("--m must be >= 1, got " + o.m);
        }
        ExpertStatistics stats;
        TopContexts top;
        boolean haveStats = o.stats != null && Files.exists(o.stats), haveTop = o.top != null && Files.exists(o.top);
        if (haveStats && haveTop) {
            stats = ExpertStatistics.read(o.stats);
            top = TopContexts.read(o.top);
            requireModel(o.stats, stats.about().get("model"), o.model);
            requireModel(o.top, top.header().get("model"), o.model);
        } else {
            // Before the pass, so that a directory that cannot be made fails at once.
            for (Path file : new Path[] {o.stats, o.top}) {
                if (file != null) {
                    Files.createDirectories(file.toAbsolutePath().getParent());
                }
            }
            try (ExpertData d = ExpertData.open(o.model, o.data, o.split, o.backend)) {
                ExpertData.Computed c = d.statsAndTop(o.model, o.data, o.m, null, o.batch);
                if (c.note() != null) {
                    err.println("mxd: " + c.note());
                }
                stats = c.stats();
                top = c.contexts();
            }
            if (o.stats != null && !haveStats) {
                stats.write(o.stats);
            }
            if (o.top != null && !haveTop) {
                top.write(o.top);
            }
        }
        return ExpertAtlas.of(o.model.toString(), stats, top);
    }

    /** A file records the model it was computed for; one for another model would label the wrong experts. */
    private static void requireModel(Path file, Object recorded, Path model) {
        String wanted = model.toAbsolutePath().normalize().toString();
        if (recorded != null && !Objects.equals(recorded, wanted)) {
            throw new IllegalArgumentException(file + " was computed for the model " + recorded + ", not " + wanted);
        }
    }
}
