package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.RealText;
import dev.mxd.text.TextSources;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.eval.Evaluation;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.Metrics;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluates a model on the held-out pairs DIR/eval (the documents kept out of training): the normalised loss, FVU, NMSE,"
                + " L0, the fraction of experts (TC: hidden units) that never fire there and of those firing on more"
                + " than 10 %% of its tokens, the mean of |y|/|t| and the relative reconstruction bias.",
                "When DIR/manifest.json says the data was harvested from the real model (./mxd harvest), also the"
                        + " downstream figures: the model replaces that layer's MLP (at --splice positions) and the"
                        + " sentence embeddings of the first --cosine-docs documents of DIR/eval are compared with the"
                        + " original ones (mean cosine; 1 = unchanged), against the MLP zero- and mean-ablated there"
                        + " (score 1: as good as the MLP, 0: as bad as the ablation), and the recall@10 of each"
                        + " document's nearest neighbours.",
                "With --json, prints one JSON object: {\"fvu\", \"nmse\", \"l0\", \"dead_fraction\", \"loss\", \"tokens\","
                        + " \"dead\", \"code_space\", \"dense_fraction\", \"l2_ratio\", \"relative_reconstruction_bias\","
                        + " \"backend\"}, plus \"embedding_cosine\", \"cosine_documents\", \"splice\" and \"downstream\""
                        + " {\"cosine_replaced\", \"cosine_zero_ablation\", \"cosine_mean_ablation\","
                        + " \"score_zero_ablation\", \"score_mean_ablation\", \"recall_at_10\", \"documents\","
                        + " \"nmse_cls\", \"nmse_real\", \"nmse_sep\"} when they are measured (absent otherwise)."})
final class EvalCommand implements Callable<Integer> {
    /** Documents of the embedding cosine: 64 × up to 128 tokens, a few seconds of the real model. */
    static final int DEFAULT_COSINE_DOCS = 64;

    @Spec
    CommandSpec spec;

    final TextSources texts;

    EvalCommand() {
        this(RealText.SOURCES);
    }

    EvalCommand(TextSources texts) {
        this.texts = texts;
    }

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

    @Option(names = "--cosine-docs", paramLabel = "N", defaultValue = "" + DEFAULT_COSINE_DOCS,
            description = "Documents of DIR/eval for the embedding cosine, the first N (default: ${DEFAULT-VALUE};"
                    + " 0: do not measure it).")
    int cosineDocs;

    @Option(names = "--splice", paramLabel = "WHERE", defaultValue = "real",
            description = "Where the model replaces the MLP: real (the harvested tokens; [CLS] and [SEP] keep the"
                    + " MLP's output) or all positions (default: ${DEFAULT-VALUE}).")
    String splicePositions;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || tokens < 0) {
            throw new IllegalArgumentException("--batch must be >= 1 and --tokens >= 0, got " + batch + " and " + tokens);
        }
        try (MxdModel m = ModelFiles.load(model);
             ActivationDirectory dir = ActivationDirectory.open(data);
             Evaluation.Splice splice = Evaluation.splice(data, texts, cosineDocs,
                     EmbeddingCosine.Positions.of(splicePositions))) {
            Backend chosen = backend.select();
            Evaluation.Result r = Evaluation.run(m, dir, tokens, batch, chosen, splice);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(r.json());
            } else {
                Metrics.Summary s = r.summary();
                out.printf(Locale.ROOT, "%s on %s (%,d tokens, backend %s, %.2f s):%n  loss %.6g (normalised, without"
                                + " the reference's -1)%n  FVU  %.5f%n  NMSE %.5f%n  L0   %.3f%n  dead %,d of %,d (%.2f%%)%n"
                                + "  dense (> 10 %% of tokens) %.2f%%%n  |y|/|t| %.4f (mean)%n  relative reconstruction bias"
                                + " %.4f%n",
                        model, data.resolve("eval"), s.tokens(), r.backend(), r.seconds(), s.loss(), s.fvu(), s.nmse(),
                        s.l0(), r.dead(), r.codeSpace(), 100 * s.deadFraction(), 100 * r.denseFraction(), r.l2Ratio(),
                        r.relativeReconstructionBias());
                if (r.splice() != null) {
                    EmbeddingCosine.Downstream d = r.splice().downstream();
                    EmbeddingCosine.PositionErrors e = r.splice().errors();
                    out.printf(Locale.ROOT, "  downstream (%d documents of %s, layer %d's MLP replaced at %s positions):%n"
                                    + "    embedding cosine %.6f; zero-ablated %.6f, mean-ablated %.6f%n"
                                    + "    score against zero ablation %.4f, against mean ablation %.4f%n"
                                    + "    recall@10 %.4f%n    NMSE at [CLS] %.4f, real tokens %.4f, [SEP] %.4f%n",
                            d.documents(), splice.manifest().model(), splice.manifest().layer(),
                            r.splice().positions().id(), d.cosineReplaced(), d.cosineZeroAblation(),
                            d.cosineMeanAblation(), d.scoreZeroAblation(), d.scoreMeanAblation(), d.recallAt10(),
                            e.cls(), e.real(), e.sep());
                }
            }
        }
        return 0;
    }
}
