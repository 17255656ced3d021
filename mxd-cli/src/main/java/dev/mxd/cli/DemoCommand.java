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
import dev.mxd.text.eval.Evaluation;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.Harvester;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.probe.DocumentLabels;
import dev.mxd.text.probe.SparseProbing;
import dev.mxd.train.ActivationDirectory;
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
                + " the table (FVU, NMSE, L0, dead %%, embedding cosine); then reads the experts of the K = 32 models"
                + " (./mxd probe's table, three experts, one ./mxd steer row).",
                "Writes DIR/activations (the harvest), DIR/models/<kind>-k<K>/ (each model), DIR/results.json (one"
                        + " row per model), DIR/frontier.png (FVU and embedding cosine against L0), DIR/probes.json and"
                        + " DIR/steer.json with DIR/steer.png."})
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
    /** The K whose models the demo reads at the end. */
    static final int EXPERTS_K = 32;
    /** The steering row's value, added at every token. */
    static final float STEER_VALUE = 20;

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
            description = "End with the experts of the K = " + EXPERTS_K + " models (else the largest K): the probing"
                    + " table, the top contexts of three experts, one steering row (default: on; --no-experts skips).")
    boolean experts;

    @Mixin
    OptimiserOptions optimiser;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto).")
    String backend;

    /** One trained model's figures. */
    record Row(Kind kind, int k, long params, double fvu, double nmse, double l0, double deadFraction,
               Double embeddingCosine, long evalTokens, double trainSeconds, Path model) {
    }

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
        PrintWriter log = spec.commandLine().getOut();
        Path acts = out.resolve("activations");
        Harvester.Settings settings = new Harvester.Settings(layer, harvestTokens, optimiser.seed, EVAL_FRACTION,
                Harvester.Settings.DEFAULT_SHARD_TOKENS);
        String backendName = TrainCommand.backendName(backend);
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
                 Evaluation.Splice splice = docs > 0 ? Evaluation.splice(acts, manifest, source, docs) : null) {
                long total = trainTokens != null ? trainTokens : dir.train().tokens();
                for (int k : kList) {
                    for (Kind kind : kindList) {
                        rows.add(trainAndEvaluate(log, dir, kind, k, total, batch, backendName, evalBackend, splice));
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
                rows.stream().map(r -> new FrontierPlot.Point(r.kind().name(), r.l0(), r.fvu(), r.embeddingCosine())).toList(),
                1000, 760);
        log.println();
        log.print(table(rows));
        log.print(verdicts(rows));
        double expertSeconds = experts ? experts(log, acts, rows, evalBackend) : 0;
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
        log.printf(Locale.ROOT, "%nthe paper's scale (TC 32·I wide, an MxD with N = %,d experts; many more tokens: the corpus"
                        + " gives about 2.2 million, trained over several passes; hours on a 2-core machine):%n"
                        + "  ./mxd demo --out %s-paper --tc-width 32 --tokens 2000000 --train-tokens 8000000 --batch 4096%n",
                MxdConfig.equalParameterExperts(width, 4 * width, width, 32 * width, false), out);
        return 0;
    }

    /**
     * The experts of the models at K = {@value #EXPERTS_K} (else the largest K trained): the probing table (written
     * to DIR/probes.json), the top contexts of the best-F1 experts of three languages, and one steering row (the
     * best-F1 language but English, value {@value #STEER_VALUE}; DIR/steer.json and .png). Returns its seconds.
     * When the text has too few languages to probe, says so and skips the rest.
     */
    private double experts(PrintWriter log, Path acts, List<Row> rows, Backend backend) throws Exception {
        long t0 = System.nanoTime();
        int k = rows.stream().anyMatch(r -> r.k() == EXPERTS_K) ? EXPERTS_K
                : rows.stream().mapToInt(Row::k).max().orElse(0);
        List<Row> atK = rows.stream().filter(r -> r.k() == k).toList();
        if (atK.isEmpty()) {
            return 0;
        }
        log.printf(Locale.ROOT, "%n== the experts of the K = %d models ==%n", k);
        ProbeCommand.Report report;
        try {
            report = ProbeCommand.run(log, texts, labelers, acts, atK.stream().map(Row::model).toList(),
                    SparseProbing.Settings.DEFAULT, backend);
        } catch (IllegalArgumentException e) {
            log.printf("experts skipped: %s%n", e.getMessage());
            return (System.nanoTime() - t0) / 1e9;
        }
        Path probes = out.resolve("probes.json");
        AtomicWrite.writeString(probes, report.json() + "\n");
        log.println();
        log.print(report.table());
        ProbeCommand.ModelProbes mxd = report.models().stream().filter(m -> m.config().kind() == Kind.MXD).findFirst()
                .orElse(report.models().get(0));
        List<SparseProbing.ClassResult> best = mxd.classes().stream()
                .sorted(Comparator.comparingDouble((SparseProbing.ClassResult c) -> -c.bestF1())
                        .thenComparing(SparseProbing.ClassResult::label)).toList();
        log.printf(Locale.ROOT, "%nthree experts of %s, the best-F1 experts of %s:%n", mxd.name(),
                best.stream().limit(3).map(c -> c.label() + " (" + c.bestCode() + ", F1 " + String.format(Locale.ROOT,
                        "%.3f", c.bestF1()) + ")").toList());
        for (SparseProbing.ClassResult c : best.subList(0, Math.min(3, best.size()))) {
            topContexts(log, mxd.model(), acts, c.bestCode());
        }
        String lang = best.stream().map(SparseProbing.ClassResult::label).filter(l -> !l.equals("en")).findFirst()
                .orElse(null);
        if (lang == null) {
            log.println("no steering row: English is the only language probed");
        } else {
            try {
                SteerCommand.Experiment e = SteerCommand.experiment(log, texts, labelers, mxd.model(), acts, probes,
                        List.of(lang), List.of(STEER_VALUE), 16, backend);
                Path steer = out.resolve("steer.json");
                SteerCommand.write(e, steer);
                log.println();
                log.print(e.table());
                log.printf("(./mxd steer --model %s --data %s --probes %s --out FILE sweeps every language and value)%n",
                        mxd.model(), acts, probes);
            } catch (IllegalArgumentException e) {
                log.printf("no steering row: %s%n", e.getMessage());
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** One expert's five top-activating contexts on the held-out split, as {@code ./mxd top} prints them. */
    private static void topContexts(PrintWriter log, Path model, Path acts, int expert) {
        log.println();
        CommandLine top = new CommandLine(new TopCommand());
        top.setOut(log);
        top.setErr(log);
        top.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            log.printf("top contexts of expert %d: %s%n", expert, Main.describe(ex));
            return 1;
        });
        top.execute("--model", model.toString(), "--data", acts.toString(), "--expert", Integer.toString(expert),
                "--m", "5");
        log.flush();
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

    private Row trainAndEvaluate(PrintWriter log, ActivationDirectory dir, Kind kind, int k, long total, int batch,
                                 String backendName, Backend evalBackend, Evaluation.Splice splice) throws Exception {
        MxdConfig cfg = LayerShape.of(kind, k, tcWidth).config(dir.inputDim(), dir.outputDim());
        Path modelDir = out.resolve("models").resolve(kind.name().toLowerCase(Locale.ROOT) + "-k" + k);
        log.printf(Locale.ROOT, "%n== %s, K = %d ==%n", kind, k);
        long t0 = System.nanoTime();
        LayerTraining.train(log, dir, cfg, optimiser.builder(batch, total, DEFAULT_LR), backendName, modelDir,
                LayerTraining.Slicing.WHOLE, false);
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        try (MxdModel model = ModelFiles.load(modelDir)) {
            Evaluation.Result r = Evaluation.run(model, dir, 0, TrainCommand.DEFAULT_BATCH, evalBackend, splice);
            Double cosine = r.splice() != null ? r.splice().cosine() : null;
            log.printf(Locale.ROOT, "eval (%,d tokens): FVU %.4f  NMSE %.4f  L0 %.2f  dead %.2f%%%s%n",
                    r.summary().tokens(), r.summary().fvu(), r.summary().nmse(), r.summary().l0(),
                    100 * r.summary().deadFraction(), cosine != null ? String.format(Locale.ROOT,
                            "  embedding cosine %.5f", cosine) : "");
            return new Row(kind, k, cfg.parameterCount(), r.summary().fvu(), r.summary().nmse(), r.summary().l0(),
                    r.summary().deadFraction(), cosine, r.summary().tokens(), trainSeconds, modelDir);
        }
    }

    /** The frontier table: one line per model, grouped by K. */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%4s  %-4s  %11s  %8s  %8s  %7s  %7s  %9s  %8s%n", "K", "kind", "params",
                "FVU", "NMSE", "L0", "dead %", "emb. cos", "train s"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%4d  %-4s  %,11d  %8.4f  %8.4f  %7.2f  %7.2f  %9s  %8.1f%n", r.k(),
                    r.kind().name().toLowerCase(Locale.ROOT), r.params(), r.fvu(), r.nmse(), r.l0(),
                    100 * r.deadFraction(), r.embeddingCosine() == null ? "-"
                            : String.format(Locale.ROOT, "%.5f", r.embeddingCosine()), r.trainSeconds()));
        }
        return b.toString();
    }

    /**
     * For each K with an MxD and another kind: the kind with the lowest FVU and how much higher the others are; a
     * gap under 1 % is called a tie, as a rerun with another seed may reverse it.
     */
    static String verdicts(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        for (int k : rows.stream().map(Row::k).distinct().toList()) {
            List<Row> atK = rows.stream().filter(r -> r.k() == k).sorted(Comparator.comparingDouble(Row::fvu)).toList();
            if (atK.size() < 2 || atK.stream().noneMatch(r -> r.kind() == Kind.MXD)) {
                continue;
            }
            Row best = atK.get(0);
            b.append(String.format(Locale.ROOT, "K = %d: lowest FVU %s %.4f", k, best.kind(), best.fvu()));
            boolean tie = false;
            for (Row r : atK.subList(1, atK.size())) {
                double gap = r.fvu() / best.fvu() - 1;
                tie |= gap < 0.01 && (best.kind() == Kind.MXD || r.kind() == Kind.MXD);
                b.append(String.format(Locale.ROOT, "; %s %+.1f %%", r.kind(), 100 * gap));
            }
            b.append(tie ? " (MxD within 1 % of another kind: a tie at this size)"
                    : best.kind() == Kind.MXD ? " (MxD lowest)" : " (MxD not lowest)").append(System.lineSeparator());
        }
        return b.isEmpty() ? "" : System.lineSeparator() + b;
    }

    /**
     * {@code results.json}: a JSON array with one object per model: {@code kind}, {@code k}, {@code params},
     * {@code fvu}, {@code nmse}, {@code l0}, {@code dead_fraction}, {@code embedding_cosine} (null when not
     * measured), {@code eval_tokens}, {@code train_seconds}, {@code model} (its directory).
     */
    static String resultsJson(List<Row> rows) {
        List<Map<String, Object>> a = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("kind", r.kind().name().toLowerCase(Locale.ROOT));
            o.put("k", r.k());
            o.put("params", r.params());
            o.put("fvu", Json.finiteOrNull(r.fvu()));
            o.put("nmse", Json.finiteOrNull(r.nmse()));
            o.put("l0", Json.finiteOrNull(r.l0()));
            o.put("dead_fraction", Json.finiteOrNull(r.deadFraction()));
            o.put("embedding_cosine", r.embeddingCosine() == null ? null : Json.finiteOrNull(r.embeddingCosine()));
            o.put("eval_tokens", r.evalTokens());
            o.put("train_seconds", r.trainSeconds());
            o.put("model", r.model().toString());
            a.add(o);
        }
        return Json.writePretty(a) + "\n";
    }
}
