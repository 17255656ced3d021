package dev.mxd.cli;

import dev.mxd.text.RealText;
import dev.mxd.text.TextSources;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.Harvester;
import dev.mxd.text.harvest.TextFileCorpus;
import dev.mxd.text.harvest.TextSource;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "harvest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Reads the MLP input and output of one layer of " + RealText.MODEL + " on the Europarl corpus"
                + " (European Parliament proceedings, one document a line) or your own text (--corpus) into an activation directory for ./mxd train.",
                "Every real token (not [CLS] or [SEP]) of the documents, read in order, gives a row: x (the LayerNorm"
                        + " output that feeds the MLP), t (the MLP's output before the residual), doc (the corpus line),"
                        + " pos (the position in the sequence) and token (the id). Documents go whole to DIR/train or"
                        + " DIR/eval by a seeded hash. DIR/manifest.json records the model, layer, corpus, seed and"
                        + " counts. DIR appears only when complete."})
final class HarvestCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    final TextSources texts;

    HarvestCommand() {
        this(RealText.SOURCES);
    }

    HarvestCommand(TextSources texts) {
        this.texts = texts;
    }

    @Option(names = "--layer", required = true, paramLabel = "L", description = "The layer whose MLP is read (0-based).")
    int layer;

    @Option(names = "--tokens", required = true, paramLabel = "N",
            description = "Real tokens to read, both splits together (the corpus has about 2.2 million at 128 tokens a"
                    + " document).")
    long tokens;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist).")
    Path out;

    @Option(names = "--corpus", paramLabel = "FILE",
            description = "Your own text instead of Europarl: UTF-8, one document a line (empty lines are skipped), or a"
                    + " .jsonl file with a \"text\" field a line. The manifest records the file and its sha256.")
    Path corpus;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the train/eval document split (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--eval-fraction", paramLabel = "F", defaultValue = "0.1",
            description = "Fraction of documents held out in DIR/eval (default: ${DEFAULT-VALUE}).")
    double evalFraction;

    @Option(names = "--shard-tokens", paramLabel = "T", defaultValue = "" + Harvester.Settings.DEFAULT_SHARD_TOKENS,
            description = "Rows per shard at most (default: ${DEFAULT-VALUE}).")
    int shardTokens;

    @Option(names = "--special-tokens", description = "Also keep the rows of [CLS] and [SEP] (they count towards"
            + " --tokens); by default only the real tokens are kept.")
    boolean specialTokens;

    @Override
    public Integer call() throws Exception {
        Harvester.Settings settings = new Harvester.Settings(layer, tokens, seed, evalFraction, shardTokens,
                specialTokens);
        PrintWriter log = spec.commandLine().getOut();
        TextFileCorpus own = corpus == null ? null : TextFileCorpus.open(corpus);   // checked before the model loads
        if (own != null) {
            log.printf(Locale.ROOT, "%s: %,d documents, %,d empty lines skipped, sha256 %s%n", corpus, own.documents(),
                    own.emptyLines(), own.sha256());
        }
        try (TextSource source = texts.open()) {
            harvest(log, own == null ? source : source.withCorpus(own), settings, out, false);
        }
        return 0;
    }

    /** Harvests with a progress line and a summary; shared with {@code ./mxd demo}. */
    static HarvestManifest harvest(PrintWriter log, TextSource source, Harvester.Settings settings, Path out,
                                   boolean replace) throws java.io.IOException {
        log.printf(Locale.ROOT, "mxd harvest: %s layer %d, %,d tokens of %s (seed %d, eval fraction %s%s) into %s%n",
                source.model(), settings.layer(), settings.tokens(), source.corpus().name(), settings.seed(),
                settings.evalFraction(), settings.specialTokens() ? ", [CLS] and [SEP] included" : "", out);
        ProgressLine line = new ProgressLine(log);
        long started = System.nanoTime();
        HarvestManifest m = Harvester.harvest(source, settings, out, replace, (done, requested, seconds) -> {
            double rate = done / Math.max(seconds, 1e-9);
            line.update(String.format(Locale.ROOT, "%,d/%,d tokens (%.1f%%)  %,.0f tok/s  ETA %s", done, requested,
                    100.0 * done / requested, rate, ProgressLine.duration((requested - done) / Math.max(rate, 1e-9))),
                    done >= requested);
        });
        double seconds = (System.nanoTime() - started) / 1e9;
        if (m.corpusExhausted()) {
            line.interject(String.format(Locale.ROOT, "the corpus ended after %,d of the %,d tokens asked for",
                    m.trainTokens() + m.evalTokens(), m.tokensRequested()));
        }
        log.printf(Locale.ROOT, "harvested %,d train tokens (%,d documents) and %,d eval tokens (%,d documents) from %,d"
                        + " documents in %.1f s; wrote %s%n", m.trainTokens(), m.trainDocuments(), m.evalTokens(),
                m.evalDocuments(), m.documentsRead(), seconds, out);
        return m;
    }
}
