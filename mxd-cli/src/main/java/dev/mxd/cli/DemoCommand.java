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
import java.util.Comparator;
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

    /**
     * The figures of one kind at one K: means over {@code seeds} seeds, {@code fvuSd} the sample standard
     * deviation of the FVU (NaN for one seed).
     *
     * @param evals      each seed's {@code eval --json} object with {@code train_seconds} added, first seed first
     * @param model      the first seed's model directory
     */
    record Row(Kind kind, int k, long params, int seeds, double fvu, double fvuSd, List<Map<String, Object>> evals,
               double trainSeconds, Path model) {

        /** The mean over seeds of a number at the top level of each eval object, or null when absent or null. */
        Double mean(String key) {
            return meanOf(evals.stream().<Object>map(e -> e.get(key)).toList());
        }

        /** The mean over seeds of a number of each eval object's {@code downstream}, or null. */
        Double downstream(String key) {
            return meanOf(evals.stream().<Object>map(e -> e.get("downstream") instanceof Map<?, ?> d ? d.get(key) : null)
                    .toList());
        }

        Double embeddingCosine() {
            return mean("embedding_cosine");
        }

        double l0() {
            return mean("l0");
        }

        private static Double meanOf(List<Object> values) {
            double sum = 0;
            for (Object v : values) {
                if (!(v instanceof Number n)) {
                    return null;
                }
                sum += n.doubleValue();
            }
            return values.isEmpty() ? null : sum / values.size();
        }
    }

    /** The downstream figures each results.json row carries (means over seeds). */
    static final List<String> DOWNSTREAM = List.of("cosine_replaced", "cosine_zero_ablation", "cosine_mean_ablation",
            "score_zero_ablation", "score_mean_ablation", "recall_at_10", "documents");

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
        List<Row> rows = new ArrayList<>();
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
                        Row row = trainAndEvaluate(log, dir, kind, k, total, batch, backendName, evalBackend, splice,
                                data);
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
        AtomicWrite.writeString(results, resultsJson(rows));
        Path plot = out.resolve("frontier.png");
        FrontierPlot.write(plot, String.format(Locale.ROOT, "%s layer %d: MxD vs transcoders at equal parameters (TC %d·I)",
                        texts.model(), layer, tcWidth),
                rows.stream().map(r -> new FrontierPlot.Point(r.kind().name(), r.l0(), r.fvu(), r.fvuSd(),
                        r.embeddingCosine()))
                        .toList(),
                1000, 760);
        log.println();
        log.print(table(rows));
        log.print(verdicts(rows));
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
    private Row trainAndEvaluate(PrintWriter log, ActivationDirectory dir, Kind kind, int k, long total, int batch,
                                 String backendName, Backend evalBackend, Evaluation.Splice splice, String data)
            throws Exception {
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
        return new Row(kind, k, cfg.parameterCount(), seeds, mean(fvus), sd(fvus), evals, trainSeconds,
                out.resolve("models").resolve(name));
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

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** The sample standard deviation (n − 1); NaN for one value. */
    static double sd(double[] v) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double m = mean(v), s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }

    /** The frontier table: one line per kind and K, grouped by K; FVU as mean ± sd when there are several seeds. */
    static String table(List<Row> rows) {
        boolean spread = rows.stream().anyMatch(r -> r.seeds() > 1);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%4s  %-4s  %11s  %8s%s  %8s  %7s  %7s  %9s  %7s  %7s  %9s  %8s%n", "K", "kind",
                "params", "FVU", spread ? String.format(Locale.ROOT, "  %6s", "± sd") : "", "NMSE", "L0", "dead %",
                "emb. cos", "score 0", "score μ", "recall@10", "train s"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%4d  %-4s  %,11d  %8.4f%s  %8.4f  %7.2f  %7.2f  %9s  %7s  %7s  %9s  %8.1f%n",
                    r.k(), r.kind().name().toLowerCase(Locale.ROOT), r.params(), r.fvu(),
                    spread ? String.format(Locale.ROOT, "  %6.4f", r.fvuSd()) : "", r.mean("nmse"), r.l0(),
                    100 * r.mean("dead_fraction"), cell(r.embeddingCosine(), 5), cell(r.downstream("score_zero_ablation"), 4),
                    cell(r.downstream("score_mean_ablation"), 4), cell(r.downstream("recall_at_10"), 3), r.trainSeconds()));
        }
        if (rows.stream().anyMatch(r -> r.embeddingCosine() != null)) {
            b.append("(score 0 / score μ: the share of the zero / mean ablation's loss of embedding cosine that the model"
                    + " recovers; 1 = as the MLP)").append(System.lineSeparator());
        }
        return b.toString();
    }

    private static String cell(Double v, int digits) {
        return v == null ? "-" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    /**
     * For each K with an MxD and another kind: the kind with the lowest (mean) FVU and how much higher the others
     * are. With several seeds the lowest kind "wins" only when its gap to every other kind exceeds the spread (the
     * sum of the two standard deviations), else the verdict is "tie"; with one seed a gap under 1 % is a tie.
     */
    static String verdicts(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        for (int k : rows.stream().map(Row::k).distinct().toList()) {
            List<Row> atK = rows.stream().filter(r -> r.k() == k).sorted(Comparator.comparingDouble(Row::fvu)).toList();
            if (atK.size() < 2 || atK.stream().noneMatch(r -> r.kind() == Kind.MXD)) {
                continue;
            }
            Row best = atK.get(0);
            boolean seeded = atK.stream().allMatch(r -> r.seeds() > 1);
            b.append(String.format(Locale.ROOT, "K = %d: lowest FVU %s %.4f", k, best.kind(), best.fvu()));
            if (seeded) {
                b.append(String.format(Locale.ROOT, " ± %.4f", best.fvuSd()));
            }
            boolean tie = false;
            for (Row r : atK.subList(1, atK.size())) {
                double gap = r.fvu() / best.fvu() - 1;
                if (seeded) {
                    tie |= !(r.fvu() - best.fvu() > r.fvuSd() + best.fvuSd());
                    b.append(String.format(Locale.ROOT, "; %s %.4f ± %.4f (%+.1f %%)", r.kind(), r.fvu(), r.fvuSd(),
                            100 * gap));
                } else {
                    tie |= gap < 0.01 && (best.kind() == Kind.MXD || r.kind() == Kind.MXD);
                    b.append(String.format(Locale.ROOT, "; %s %+.1f %%", r.kind(), 100 * gap));
                }
            }
            String seedsNote = seeded ? String.format(Locale.ROOT, ", %d seeds", best.seeds()) : "";
            if (seeded) {
                b.append(tie ? " (tie: a gap within the spread" + seedsNote + ")"
                        : String.format(Locale.ROOT, " (%s wins: every gap exceeds the spread%s)", best.kind(), seedsNote));
            } else {
                b.append(tie ? " (MxD within 1 % of another kind: a tie at this size)"
                        : best.kind() == Kind.MXD ? " (MxD lowest)" : " (MxD not lowest)");
            }
            b.append(System.lineSeparator());
        }
        return b.isEmpty() ? "" : System.lineSeparator() + b;
    }

    /**
     * {@code results.json}: a JSON array with one object per kind and K: {@code kind}, {@code k}, {@code params},
     * {@code seeds}, {@code fvu} (the mean over seeds) and {@code fvu_sd} (null for one seed), the means of
     * {@code nmse}, {@code l0}, {@code dead_fraction}, {@code dense_fraction}, {@code l2_ratio},
     * {@code relative_reconstruction_bias}, {@code embedding_cosine} and of the downstream figures
     * ({@link #DOWNSTREAM}; null when not measured), {@code splice}, {@code eval_tokens}, {@code train_seconds}
     * (all seeds), {@code model} (the first seed's directory).
     */
    static String resultsJson(List<Row> rows) {
        List<Map<String, Object>> a = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("kind", r.kind().name().toLowerCase(Locale.ROOT));
            o.put("k", r.k());
            o.put("params", r.params());
            o.put("seeds", r.seeds());
            o.put("fvu", Json.finiteOrNull(r.fvu()));
            o.put("fvu_sd", Json.finiteOrNull(r.fvuSd()));
            for (String key : List.of("nmse", "l0", "dead_fraction", "dense_fraction", "l2_ratio",
                    "relative_reconstruction_bias", "embedding_cosine")) {
                Double v = r.mean(key);
                o.put(key, v == null ? null : Json.finiteOrNull(v));
            }
            for (String key : DOWNSTREAM) {
                Double v = r.downstream(key);
                o.put(key, v == null ? null : key.equals("documents") ? (Object) Math.round(v) : Json.finiteOrNull(v));
            }
            o.put("splice", r.evals().getFirst().get("splice"));
            o.put("eval_tokens", r.evals().getFirst().get("tokens"));
            o.put("train_seconds", r.trainSeconds());
            o.put("model", r.model().toString());
            a.add(o);
        }
        return Json.writePretty(a) + "\n";
    }
}
