package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.AtomicWrite;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.RealText;
import dev.mxd.text.TextSources;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.eval.Evaluation;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.Harvester;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.probe.DocumentLabels;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.TrainingOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The sparsity-accuracy frontier on real data: harvests one layer of " + RealText.MODEL
                + " on Europarl (reused when DIR/activations already holds the same harvest), trains an MxD, a TC and"
                + " an STC of equal parameter counts at each K, evaluates them on the held-out documents, and prints"
                + " the table (FVU, NMSE, L0, dead %%, the downstream embedding cosine and scores, recall@10); with"
                + " --seeds N, each (kind, K) N times with seeds SEED, SEED+1, ..., as mean ± sd; then reads the experts"
                + " of the K = 32 models (./mxd probe's table, three experts, one ./mxd steer row).",
                "Writes DIR/activations (the harvest), DIR/models/<kind>-k<K>/ (each model of the first seed; the others"
                        + " in <kind>-k<K>-seed<S>/), DIR/results.json (one row per kind and K), DIR/frontier.png"
                        + " (FVU and embedding cosine against L0), DIR/probes.json and DIR/steer.json with DIR/steer.png.",
                "Resumable: a model finished by an earlier run with the same settings is reused (its eval.json), one"
                        + " cut short resumes from its checkpoint; --slice-steps runs the training in slices of that"
                        + " many steps, one per invocation, and --checkpoint-every guards a slice against a kill."})
final class DemoCommand implements Callable<Integer> {
    /** Enough tokens for the kinds to separate at the default K, few enough for a run of minutes, not hours. */
    static final long DEFAULT_TOKENS = 200_000;
    static final List<Integer> DEFAULT_K = List.of(16, 32, 64);
    /** A few hundred steps on the default tokens: smaller batches and a higher rate than the paper's long runs. */
    static final int DEFAULT_BATCH = 512;
    static final double DEFAULT_LR = 1e-3;
    static final long TINY_TOKENS = 4_096;
    static final List<Integer> TINY_K = List.of(8, 16);
    static final int TINY_BATCH = 256;
    static final int TINY_COSINE_DOCS = 8;
    static final double EVAL_FRACTION = 0.1;

    @Spec
    CommandSpec spec;

    final TextSources texts;
    final Supplier<DocumentLabels.Labeler> labelers;

    DemoCommand() {
        this(RealText.SOURCES, LinguaLabeler::new);
    }

    DemoCommand(TextSources texts) {
        this(texts, LinguaLabeler::new);
    }

    DemoCommand(TextSources texts, Supplier<DocumentLabels.Labeler> labelers) {
        this.texts = texts;
        this.labelers = labelers;
    }

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "mxd-demo",
            description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--tiny", description = "A tiny run for tests (" + TINY_TOKENS + " tokens, K 8 and 16, batch "
            + TINY_BATCH + ", " + TINY_COSINE_DOCS + " cosine documents); explicit options still win.")
    boolean tiny;

    @Option(names = "--layer", paramLabel = "L", defaultValue = "3",
            description = "The layer whose MLP is replaced (0-based; default: ${DEFAULT-VALUE}).")
    int layer;

    @Option(names = "--tokens", paramLabel = "N",
            description = "Real tokens to harvest, train and eval splits together (default: " + DEFAULT_TOKENS + ").")
    Long tokens;

    @Option(names = "--train-tokens", paramLabel = "T",
            description = "Training tokens per model (default: one pass over the training split; more makes several"
                    + " passes).")
    Long trainTokens;

    @Option(names = "--k", paramLabel = "K", split = ",", description = "Sparsities to train (default: 16,32,64).")
    List<Integer> ks;

    @Option(names = "--kinds", paramLabel = "KIND", split = ",", defaultValue = "mxd,tc,stc",
            description = "Layer kinds to train (default: ${DEFAULT-VALUE}).")
    List<String> kinds;

    @Option(names = "--tc-width", paramLabel = "M", defaultValue = "8",
            description = "TC and STC width as a multiple of I; an MxD is 4·I wide with the N of equal parameters"
                    + " (default: ${DEFAULT-VALUE}; the paper's is 32).")
    int tcWidth;

    @Option(names = "--cosine-docs", paramLabel = "N",
            description = "Held-out documents for the embedding cosine (default: " + EvalCommand.DEFAULT_COSINE_DOCS
                    + "; 0: skip it).")
    Integer cosineDocs;

    @Option(names = "--experts", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "End with the experts of the K = " + DemoExperts.EXPERTS_K + " models (else the largest K): the probing"
                    + " table, the top contexts of three experts, one steering row (default: on; --no-experts skips).")
    boolean experts;

    @Option(names = "--splice", paramLabel = "WHERE", defaultValue = "real",
            description = "Where a model replaces the MLP for the downstream figures: real (the harvested tokens) or"
                    + " all positions, [CLS] and [SEP] included (default: ${DEFAULT-VALUE}).")
    String splicePositions;

    @Option(names = "--special-tokens", description = "Harvest and train on [CLS] and [SEP] too (then splice with"
            + " --splice all); by default only the real tokens.")
    boolean specialTokens;

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "1",
            description = "Seeds per kind and K: mean ± sd, and a verdict that needs the gap to exceed the spread"
                    + " (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--slice-steps", paramLabel = "STEPS",
            description = "Train at most this many steps in this invocation (over all models), checkpoint and stop;"
                    + " rerun the same command to continue (default: no limit).")
    Long sliceSteps;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "0",
            description = "Also checkpoint each model every this many steps (default: ${DEFAULT-VALUE}: only where a"
                    + " slice ends).")
    int checkpointEvery;

    @Mixin
    OptimiserOptions optimiser;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        long harvestTokens = tokens != null ? tokens : tiny ? TINY_TOKENS : DEFAULT_TOKENS;
        List<Integer> kList = ks != null ? List.copyOf(ks) : tiny ? TINY_K : DEFAULT_K;
        int batch = optimiser.batch(tiny ? TINY_BATCH : DEFAULT_BATCH);
        int docs = cosineDocs != null ? cosineDocs : tiny ? TINY_COSINE_DOCS : EvalCommand.DEFAULT_COSINE_DOCS;
        List<Kind> kindList = kinds.stream().map(LayerShape::kind).distinct().toList();
        for (int k : kList) {
            if (k < 1) {
                throw new IllegalArgumentException("--k values must be >= 1, got " + k);
            }
        }
        if (docs < 0) {
            throw new IllegalArgumentException("--cosine-docs must be >= 0, got " + docs);
        }
        if (seeds < 1) {
            throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        }
        if (sliceSteps != null && sliceSteps < 1) {
            throw new IllegalArgumentException("--slice-steps must be >= 1, got " + sliceSteps);
        }
        if (checkpointEvery < 0) {
            throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        }
        EmbeddingCosine.Positions positions = EmbeddingCosine.Positions.of(splicePositions);
        PrintWriter log = spec.commandLine().getOut();
        Path acts = out.resolve("activations");
        Harvester.Settings settings = new Harvester.Settings(layer, harvestTokens, optimiser.seed, EVAL_FRACTION,
                Harvester.Settings.DEFAULT_SHARD_TOKENS, specialTokens);
        String backendName = backend.requested();
        Backend evalBackend = Backends.select(backendName);
        List<DemoResults.Row> rows = new ArrayList<>();
        double harvestSeconds;
        int width;
        try (TextSource source = texts.open()) {
            long h0 = System.nanoTime();
            HarvestManifest manifest = cachedHarvest(acts, source, settings);
            if (manifest != null) {
                log.printf(Locale.ROOT, "mxd demo: reusing %s (%,d train and %,d eval tokens of %s layer %d)%n", acts,
                        manifest.trainTokens(), manifest.evalTokens(), manifest.model(), manifest.layer());
            } else {
                manifest = HarvestCommand.harvest(log, source, settings, acts, true);
            }
            harvestSeconds = (System.nanoTime() - h0) / 1e9;
            width = manifest.width();
            try (ActivationDirectory dir = ActivationDirectory.open(acts);
                 Evaluation.Splice splice = docs > 0 ? Evaluation.splice(acts, manifest, source, docs, positions)
                         : null) {
                long total = trainTokens != null ? trainTokens : dir.train().tokens();
                String data = manifest.toString() + "; splice " + positions.id() + " over " + docs + " documents";
                for (int k : kList) {
                    for (Kind kind : kindList) {
                        DemoResults.Row row = trainAndEvaluate(log, dir, kind, k, total, batch, backendName,
                                evalBackend, splice, data);
                        if (row == null) {
                            log.printf("%nmxd demo: stopped after a slice of %,d steps; run the same command again to"
                                    + " continue%n", sliceSteps);
                            return 0;
                        }
                        rows.add(row);
                    }
                }
            }
        }
        double wall = (System.nanoTime() - started) / 1e9;
        Files.createDirectories(out);
        Path results = out.resolve("results.json");
        AtomicWrite.writeString(results, DemoResults.resultsJson(rows));
        Path plot = out.resolve("frontier.png");
        FrontierPlot.write(plot, String.format(Locale.ROOT, "%s layer %d: MxD vs transcoders at equal parameters (TC %d·I)",
                        texts.model(), layer, tcWidth),
                rows.stream().map(r -> new FrontierPlot.Point(r.kind().name(), r.l0(), r.fvu(), r.fvuSd(),
                        r.embeddingCosine()))
                        .toList(),
                1000, 760);
        log.println();
        log.print(DemoResults.table(rows));
        log.print(DemoResults.verdicts(rows));
        double expertSeconds = experts ? DemoExperts.run(log, texts, labelers, out, acts, rows, evalBackend) : 0;
        wall = (System.nanoTime() - started) / 1e9;
        log.printf(Locale.ROOT, "%nwall time %s (harvest %s, %d models%s)%n", ProgressLine.duration(wall),
                ProgressLine.duration(harvestSeconds), rows.size(), experts ? ", experts "
                        + ProgressLine.duration(expertSeconds) : "");
        log.printf("wrote:%n  %s  (activations and manifest.json)%n  %s  (one directory per model)%n  %s%n  %s%n",
                acts, out.resolve("models"), results, plot);
        for (String f : new String[] {"probes.json", "steer.json", "steer.png"}) {
            if (experts && Files.exists(out.resolve(f))) {
                log.printf("  %s%n", out.resolve(f));
            }
        }
        log.printf(Locale.ROOT, "%nthe paper's width (TC 32·I wide, an MxD with N = %,d experts; 2 M training tokens per model"
                        + " over several passes; about an hour and a half on a 2-core machine, run in slices:"
                        + " repeat the command until it prints the table):%n"
                        + "  %s%n", MxdConfig.equalParameterExperts(width, 4 * width, width, 32 * width, false),
                PAPER_COMMAND);
        return 0;
    }

    /** The manifest of {@code acts} when it holds the harvest {@code settings} describe, else null. */
    private static HarvestManifest cachedHarvest(Path acts, TextSource source, Harvester.Settings settings)
            throws IOException {
        if (!HarvestManifest.exists(acts)) {
            return null;
        }
        try {
            HarvestManifest m = HarvestManifest.read(acts);
            return m.describes(source, settings) ? m : null;
        } catch (IllegalArgumentException e) {
            return null;   // an older or damaged manifest: harvest again
        }
    }

    /**
     * The paper-width run: 2 M training tokens per model (about three passes over 630 k), twelve models, in slices
     * of 1,000 steps (two models); its results.json and frontier.png go to docs/results/minilm-l3-tc32/.
     */
    static final String PAPER_COMMAND = "./mxd demo --out mxd-demo-tc32 --tc-width 32 --tokens 700000"
            + " --train-tokens 2000000 --batch 4096 --k 16,32,64,128 --slice-steps 1000 --checkpoint-every 100";

    /** Trains and evaluates each seed of one kind at one K; null when the slice ended before all were done. */
    private DemoResults.Row trainAndEvaluate(PrintWriter log, ActivationDirectory dir, Kind kind, int k, long total,
                                             int batch, String backendName, Backend evalBackend,
                                             Evaluation.Splice splice, String data) throws Exception {
        MxdConfig cfg = LayerShape.of(kind, k, tcWidth).config(dir.inputDim(), dir.outputDim());
        String name = kind.name().toLowerCase(Locale.ROOT) + "-k" + k;
        List<Map<String, Object>> evals = new ArrayList<>();
        double trainSeconds = 0;
        for (int i = 0; i < seeds; i++) {
            long seed = optimiser.seed + i;
            Path modelDir = out.resolve("models").resolve(i == 0 ? name : name + "-seed" + seed);
            TrainingOptions.Builder options = optimiser.builder(batch, total, DEFAULT_LR).seed(seed);
            String run = options.build().annotate(cfg) + "; " + data + "\n";
            Map<String, Object> eval = finished(modelDir, run);
            if (eval != null) {
                log.printf(Locale.ROOT, "%n== %s, K = %d, seed %d: reusing %s ==%n", kind, k, seed, modelDir);
            } else {
                if (sliceSteps != null && stepsThisCall >= sliceSteps) {
                    return null;
                }
                log.printf(Locale.ROOT, "%n== %s, K = %d, seed %d ==%n", kind, k, seed);
                Path checkpoint = modelDir.resolve(LayerTraining.CHECKPOINT);
                boolean resume = Files.isRegularFile(checkpoint) && run.equals(readOrNull(modelDir.resolve(RUN_FILE)));
                if (!resume) {
                    Files.createDirectories(modelDir);
                    Files.deleteIfExists(checkpoint);
                    Files.deleteIfExists(modelDir.resolve(EVAL_FILE));
                    AtomicWrite.writeString(modelDir.resolve(RUN_FILE), run);
                }
                Long stopAfter = sliceSteps == null ? null : sliceSteps - stepsThisCall;
                long t0 = System.nanoTime();
                LayerTraining.Outcome o = LayerTraining.train(log, dir, cfg, options, backendName, modelDir,
                        new LayerTraining.Slicing(checkpointEvery, resume, stopAfter), false);
                stepsThisCall += o.steps();
                double seconds = (System.nanoTime() - t0) / 1e9 + (resume ? previousSeconds(modelDir) : 0);
                if (!o.finished()) {
                    AtomicWrite.writeString(modelDir.resolve(SECONDS_FILE), Double.toString(seconds));
                    return null;
                }
                try (MxdModel model = ModelFiles.load(modelDir)) {
                    Evaluation.Result r = Evaluation.run(model, dir, 0, TrainCommand.DEFAULT_BATCH, evalBackend, splice);
                    eval = new LinkedHashMap<>(Json.parseObject(r.json(), "the evaluation"));
                    eval.put("seed", seed);
                    eval.put("train_seconds", seconds);
                    AtomicWrite.writeString(modelDir.resolve(EVAL_FILE), Json.writePretty(eval) + "\n");
                }
                Files.deleteIfExists(checkpoint);
                Files.deleteIfExists(modelDir.resolve(SECONDS_FILE));
            }
            log.printf(Locale.ROOT, "eval (%,d tokens): FVU %.4f  NMSE %.4f  L0 %.2f  dead %.2f%%%s%n",
                    ((Number) eval.get("tokens")).longValue(), number(eval, "fvu"), number(eval, "nmse"),
                    number(eval, "l0"), 100 * number(eval, "dead_fraction"), eval.get("downstream") instanceof Map<?, ?> d
                            ? String.format(Locale.ROOT, "  embedding cosine %.5f  score %.4f  recall@10 %.3f",
                            number(d, "cosine_replaced"), number(d, "score_mean_ablation"), number(d, "recall_at_10"))
                            : "");
            evals.add(eval);
            trainSeconds += number(eval, "train_seconds");
        }
        double[] fvus = evals.stream().mapToDouble(e -> number(e, "fvu")).toArray();
        return new DemoResults.Row(kind, k, cfg.parameterCount(), seeds, DemoResults.mean(fvus), DemoResults.sd(fvus),
                evals, trainSeconds, out.resolve("models").resolve(name));
    }

    /** The model directory's file naming the settings it was trained with. */
    static final String RUN_FILE = "demo-run.txt";
    /** The evaluation of a finished model, with its seed and training time. */
    static final String EVAL_FILE = "eval.json";
    /** The training seconds of the slices so far, while a model is unfinished. */
    private static final String SECONDS_FILE = "train-seconds.txt";

    private long stepsThisCall;

    /** The evaluation of a model finished with the settings {@code run}, or null. */
    private static Map<String, Object> finished(Path modelDir, String run) throws IOException {
        if (!run.equals(readOrNull(modelDir.resolve(RUN_FILE))) || !Files.isRegularFile(modelDir.resolve(EVAL_FILE))
                || !Files.isRegularFile(modelDir.resolve(ModelFiles.WEIGHTS_FILE))) {
            return null;
        }
        try {
            return Json.parseObject(Files.readString(modelDir.resolve(EVAL_FILE)), modelDir.resolve(EVAL_FILE).toString());
        } catch (IllegalArgumentException e) {
            return null;   // damaged: train again
        }
    }

    private static double previousSeconds(Path modelDir) throws IOException {
        String s = readOrNull(modelDir.resolve(SECONDS_FILE));
        try {
            return s == null ? 0 : Double.parseDouble(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String readOrNull(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.readString(file) : null;
    }

    private static double number(Map<?, ?> o, String key) {
        return o.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
