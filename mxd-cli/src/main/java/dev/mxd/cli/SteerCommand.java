package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.Steering;
import dev.mxd.checkpoint.AtomicWrite;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.RealText;
import dev.mxd.text.TextSources;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.probe.DocumentLabels;
import dev.mxd.text.steer.SplicedSteering;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "steer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Steering on the real model: the layer replaces the MLP it was trained on (the layer of DIR's"
                + " manifest), and an expert's value is added (--mode add) or overwritten (--mode set) at every real token"
                + " between its two steps. With --text: how far the sentence embedding moves (cosine to the unsteered"
                + " splice) and its nearest held-out documents of DIR before and after.",
                "With --probes P.json (./mxd probe --json) and --out FILE: the scored experiment. Per language, the"
                        + " model's expert with the best probe F1 is added with each --values at every token of held-out"
                        + " English documents; the table gives the move toward that language's centroid (Δ cosine, mean"
                        + " of held-out documents of the language) against the cosine to the unsteered embedding; the"
                        + " same for the TC of the same K in P.json. Languages are detected (Lingua), as for probe."
                        + " Writes FILE (JSON) and a plot beside it (.png)."})
final class SteerCommand implements Callable<Integer> {
    static final String DEFAULT_VALUES = "0,5,10,20,50,100";

    @Spec
    CommandSpec spec;

    final TextSources texts;
    final Supplier<DocumentLabels.Labeler> labelers;

    SteerCommand() {
        this(RealText.SOURCES, LinguaLabeler::new);
    }

    SteerCommand(TextSources texts, Supplier<DocumentLabels.Labeler> labelers) {
        this.texts = texts;
        this.labelers = labelers;
    }

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The layer (MxD, TC or STC).")
    Path model;

    @Option(names = "--data", paramLabel = "DIR",
            description = "The activation directory the model was trained on (its manifest names the layer; default:"
                    + " the one recorded in the model's cfg.json).")
    Path data;

    @Option(names = "--text", paramLabel = "TEXT", description = "Steer this text.")
    String text;

    @Option(names = "--expert", paramLabel = "N", description = "The expert (TC, STC: hidden unit) to steer.")
    Integer expert;

    @Option(names = "--value", paramLabel = "V", description = "The value added or set.")
    Float value;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "add",
            description = "add (the value adds to the expert's) or set (the expert's value becomes V); default add.")
    String mode;

    @Option(names = "--docs", paramLabel = "N", defaultValue = "200",
            description = "Held-out documents compared (text mode: nearest; experiment: at most N/8 English ones"
                    + " steered, default ${DEFAULT-VALUE}).")
    int docs;

    @Option(names = "--probes", paramLabel = "P.json", description = "./mxd probe --json output: run the experiment.")
    Path probes;

    @Option(names = "--out", paramLabel = "FILE", description = "The experiment's JSON (and FILE's .png plot).")
    Path out;

    @Option(names = "--values", paramLabel = "V", split = ",", defaultValue = DEFAULT_VALUES,
            description = "The experiment's values (default: ${DEFAULT-VALUE}).")
    List<Float> values;

    @Option(names = "--languages", paramLabel = "LANG", split = ",",
            description = "The experiment's languages (default: every probed language but English).")
    List<String> languages;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        if (docs < 1) {
            throw new IllegalArgumentException("--docs must be >= 1, got " + docs);
        }
        if (data == null) {
            try (MxdModel m = ModelFiles.load(model)) {
                HarvestManifest.Recorded recorded = HarvestManifest.recordedIn(m.config());
                if (recorded == null) {
                    throw new IllegalArgumentException("give --data DIR: " + model + "'s cfg.json records no harvest");
                }
                data = recorded.data();
            }
        }
        Backend chosen = backend.select();
        PrintWriter o = spec.commandLine().getOut();
        if (probes != null) {
            if (out == null || text != null) {
                throw new IllegalArgumentException("the experiment (--probes) needs --out FILE and takes no --text");
            }
            Experiment e = experiment(spec.commandLine().getErr(), texts, labelers, model, data, probes, languages,
                    values, docs / 8, chosen);
            write(e, out);
            o.print(e.table());
            o.printf("wrote %s and %s%n", out, plotFile(out));
            return 0;
        }
        if (text == null || expert == null || value == null) {
            throw new IllegalArgumentException("give --text, --expert and --value (or --probes and --out for the"
                    + " experiment)");
        }
        Steering steering = switch (mode) {
            case "add" -> Steering.none().add(expert, value);
            case "set" -> Steering.none().set(expert, value);
            default -> throw new IllegalArgumentException("--mode must be add or set, got " + mode);
        };
        single(o, chosen, steering);
        return 0;
    }

    /** The layer the data was harvested at, after checking the source reads the same model and corpus. */
    static HarvestManifest manifest(Path data, TextSource source) throws java.io.IOException {
        if (!HarvestManifest.exists(data)) {
            throw new IllegalArgumentException(data + " has no " + HarvestManifest.FILE + ": steering needs the layer"
                    + " and corpus of a directory harvested from text (./mxd harvest)");
        }
        HarvestManifest m = HarvestManifest.read(data);
        if (!m.model().equals(source.model()) || !m.corpus().equals(source.corpus().name())) {
            throw new IllegalArgumentException(data + " was harvested from " + m.model() + " on " + m.corpus()
                    + ", but this mxd reads " + source.model() + " on " + source.corpus().name());
        }
        return m;
    }

    private void single(PrintWriter o, Backend chosen, Steering steering) throws Exception {
        try (MxdModel m = ModelFiles.load(model); TextSource source = texts.open()) {
            HarvestManifest manifest = manifest(data, source);
            checkWidth(m.config(), source, model);
            steering.requireFits(m.config());
            try (MxdLayer layer = chosen.load(m)) {
                int[] ids = source.tokens(-1, text);
                List<int[]> one = List.of(ids);
                float[] original = EmbeddingCosine.embeddings(source.encoder(), manifest.layer(), one, null)[0];
                float[] unsteered = EmbeddingCosine.embeddings(source.encoder(), manifest.layer(), one,
                        SplicedSteering.hook(layer, Steering.none()))[0];
                float[] steered = EmbeddingCosine.embeddings(source.encoder(), manifest.layer(), one,
                        SplicedSteering.hook(layer, steering))[0];
                o.printf(Locale.ROOT, "%s (%s, K %d) in place of %s layer %d's MLP; %s at all %d tokens (%s)%n", model,
                        m.config().kind(), m.config().k(), source.model(), manifest.layer(), steering.edits().get(0),
                        ids.length, layer.backendName());
                o.printf(Locale.ROOT, "  cosine(steered, unsteered splice) %.6f%n", EmbeddingCosine.cosine(steered, unsteered));
                o.printf(Locale.ROOT, "  cosine(unsteered splice, original model) %.6f; cosine(steered, original) %.6f%n",
                        EmbeddingCosine.cosine(unsteered, original), EmbeddingCosine.cosine(steered, original));
                List<Integer> held = EmbeddingCosine.documents(data.resolve("eval"), docs);
                if (held.isEmpty()) {
                    o.printf("  (no held-out documents in %s to compare with)%n", data.resolve("eval"));
                    return;
                }
                Map<Integer, String> textOf = texts(source, held);
                float[][] emb = EmbeddingCosine.embeddings(source.encoder(), manifest.layer(),
                        EmbeddingCosine.sequences(source, held), null);
                o.printf(Locale.ROOT, "nearest of %d held-out documents of %s (original model's embeddings):%n",
                        held.size(), data.resolve("eval"));
                for (String when : new String[] {"before", "after"}) {
                    float[] q = when.equals("before") ? unsteered : steered;
                    List<Integer> order = new ArrayList<>();
                    for (int i = 0; i < held.size(); i++) {
                        order.add(i);
                    }
                    order.sort(Comparator.comparingDouble((Integer i) -> -EmbeddingCosine.cosine(q, emb[i]))
                            .thenComparing(i -> held.get(i)));
                    for (int r = 0; r < Math.min(3, order.size()); r++) {
                        int i = order.get(r);
                        o.printf(Locale.ROOT, "  %-6s %.4f  doc %-6d %s%n", r == 0 ? when : "",
                                EmbeddingCosine.cosine(q, emb[i]), held.get(i), snippet(textOf.get(held.get(i))));
                    }
                }
            }
        }
    }

    private static void checkWidth(MxdConfig cfg, TextSource source, Path model) {
        int w = source.encoder().width();
        if (cfg.inputDim() != w || cfg.outputDim() != w) {
            throw new IllegalArgumentException(model + " maps " + cfg.inputDim() + " to " + cfg.outputDim()
                    + " values, but " + source.model() + "'s MLP maps " + w + " to " + w);
        }
    }

    static String snippet(String s) {
        String one = s == null ? "" : s.replaceAll("\\s+", " ").strip();
        return one.length() <= 80 ? one : one.substring(0, 77) + "...";
    }

    private static Map<Integer, String> texts(TextSource source, List<Integer> docs) throws java.io.IOException {
        Map<Integer, String> out = new TreeMap<>();
        java.util.Set<Integer> wanted = new java.util.HashSet<>(docs);
        int last = docs.stream().mapToInt(Integer::intValue).max().orElse(-1);
        source.corpus().forEach((i, t) -> {
            if (wanted.contains(i)) {
                out.put(i, t);
            }
            return i < last;
        });
        return out;
    }

    /** The experiment's outcome: per model, its points. */
    record Experiment(String labels, int layer, int englishDocuments, Map<String, Integer> centroidDocuments,
                      List<Curve> curves) {

        String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "Steering trade-off: each language's best-F1 expert added at every token"
                            + " of %d held-out English documents (layer %d); Δ toward: mean change of the cosine to the"
                            + " language's centroid; cos kept: mean cosine to the unsteered embedding (languages %s).%n",
                    englishDocuments, layer, labels));
            b.append(String.format(Locale.ROOT, "%-18s %-5s %7s %7s %9s %9s%n", "model", "lang", "expert", "value",
                    "Δ toward", "cos kept"));
            for (Curve c : curves) {
                for (SplicedSteering.Point p : c.points()) {
                    b.append(String.format(Locale.ROOT, "%-18s %-5s %7d %7.1f %+9.4f %9.4f%n", c.name(), p.label(),
                            p.expert(), p.value(), p.towardClass(), p.cosineToUnsteered()));
                }
            }
            return b.toString();
        }

        String json() {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("labels", labels);
            o.put("layer", layer);
            o.put("english_documents", englishDocuments);
            o.put("centroid_documents", centroidDocuments);
            List<Object> cs = new ArrayList<>();
            for (Curve c : curves) {
                Map<String, Object> co = new LinkedHashMap<>();
                co.put("model", c.model().toString());
                co.put("kind", c.kind().name().toLowerCase(Locale.ROOT));
                co.put("k", c.k());
                List<Object> ps = new ArrayList<>();
                for (SplicedSteering.Point p : c.points()) {
                    Map<String, Object> po = new LinkedHashMap<>();
                    po.put("language", p.label());
                    po.put("expert", p.expert());
                    po.put("value", (double) p.value());
                    po.put("delta_cosine_toward", Json.finiteOrNull(p.towardClass()));
                    po.put("cosine_to_unsteered", Json.finiteOrNull(p.cosineToUnsteered()));
                    ps.add(po);
                }
                co.put("points", ps);
                cs.add(co);
            }
            o.put("models", cs);
            return Json.writePretty(o);
        }
    }

    /** One model's points. */
    record Curve(Path model, Kind kind, int k, List<SplicedSteering.Point> points) {
        String name() {
            Path f = model.getFileName();
            return f == null ? model.toString() : f.toString();
        }
    }

    static Path plotFile(Path out) {
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return out.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".png");
    }

    static void write(Experiment e, Path out) throws java.io.IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        AtomicWrite.writeString(out, e.json() + "\n");
        SteerPlot.write(plotFile(out), e, 1000, 700);
    }

    /**
     * Runs the scored experiment for {@code model} and the TC of the same K in the probes file.
     *
     * @param maxEnglish the most English held-out documents steered
     */
    static Experiment experiment(PrintWriter log, TextSources texts, Supplier<DocumentLabels.Labeler> labelers,
                                 Path model, Path data, Path probesFile, List<String> only, List<Float> values,
                                 int maxEnglish, Backend backend) throws Exception {
        Map<String, Object> probes = Json.parseObject(Files.readString(probesFile), probesFile.toString());
        List<Path> models = new ArrayList<>(List.of(model));
        Map<Path, Map<String, Integer>> bestExperts = new LinkedHashMap<>();
        int k;
        try (MxdModel m = ModelFiles.load(model)) {
            k = m.config().k();
        }
        Object ms = probes.get("models");
        if (!(ms instanceof List<?> list)) {
            throw new IllegalArgumentException(probesFile + " has no \"models\" list: give the output of ./mxd probe --json");
        }
        for (Object entry : list) {
            if (!(entry instanceof Map<?, ?> e) || !(e.get("model") instanceof String path)
                    || !(e.get("per_language") instanceof Map<?, ?> per)) {
                throw new IllegalArgumentException(probesFile + ": a model entry without \"model\" and \"per_language\"");
            }
            Path p = Path.of(path);
            boolean self = p.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize());
            boolean tc = "tc".equals(e.get("kind")) && e.get("k") instanceof Number n && n.intValue() == k;
            if (self || (tc && !models.contains(p))) {
                Map<String, Integer> best = new TreeMap<>();
                per.forEach((lang, r) -> {
                    if (r instanceof Map<?, ?> rm && rm.get("best_expert") instanceof Number n) {
                        best.put((String) lang, n.intValue());
                    }
                });
                Path key = self ? model : p;
                if (!self) {
                    models.add(p);
                }
                bestExperts.put(key, best);
            }
        }
        if (!bestExperts.containsKey(model)) {
            throw new IllegalArgumentException(probesFile + " has no probes of " + model + ": run ./mxd probe on it");
        }
        float[] vs = new float[values.size()];
        for (int i = 0; i < vs.length; i++) {
            vs[i] = values.get(i);
        }
        try (TextSource source = texts.open()) {
            HarvestManifest manifest = manifest(data, source);
            DocumentLabels.Labeler labeler = labelers.get();
            List<Integer> held = EmbeddingCosine.documents(data.resolve("eval"), Integer.MAX_VALUE);
            Map<Integer, String> labels = DocumentLabels.label(source.corpus(), held, labeler);
            Map<String, List<Integer>> byLanguage = new TreeMap<>();
            labels.forEach((d, l) -> byLanguage.computeIfAbsent(l, x -> new ArrayList<>()).add(d));
            List<Integer> english = byLanguage.getOrDefault("en", List.of());
            english = english.subList(0, Math.min(english.size(), Math.max(1, maxEnglish)));
            if (english.isEmpty()) {
                throw new IllegalArgumentException(data.resolve("eval") + " has no held-out document detected as"
                        + " English to steer");
            }
            Map<String, Integer> modelBest = bestExperts.get(model);
            List<String> langs = new ArrayList<>();
            for (String l : modelBest.keySet()) {
                if (!l.equals("en") && byLanguage.containsKey(l) && (only == null || only.contains(l))) {
                    langs.add(l);
                }
            }
            if (only != null) {
                for (String l : only) {
                    if (!langs.contains(l)) {
                        throw new IllegalArgumentException("--languages " + l + ": not probed in " + probesFile
                                + " or no held-out document of it in " + data.resolve("eval"));
                    }
                }
            }
            log.printf(Locale.ROOT, "mxd steer: %d English documents steered toward %d languages, %d values%n",
                    english.size(), langs.size(), vs.length);
            log.flush();
            Map<String, float[]> centroids = new LinkedHashMap<>();
            Map<String, Integer> centroidDocs = new LinkedHashMap<>();
            for (String l : langs) {
                List<Integer> ds = byLanguage.get(l);
                float[][] emb = EmbeddingCosine.embeddings(source.encoder(), manifest.layer(),
                        EmbeddingCosine.sequences(source, ds), null);
                centroids.put(l, SplicedSteering.centroid(List.of(emb)));
                centroidDocs.put(l, ds.size());
            }
            List<int[]> englishSeqs = EmbeddingCosine.sequences(source, english);
            List<Curve> curves = new ArrayList<>();
            for (Path p : models) {
                try (MxdModel m = ModelFiles.load(p); MxdLayer layer = backend.load(m)) {
                    checkWidth(m.config(), source, p);
                    Map<String, Integer> experts = new LinkedHashMap<>();
                    for (String l : langs) {
                        Integer e = bestExperts.get(p).get(l);
                        if (e != null) {
                            experts.put(l, e);
                        }
                    }
                    long t0 = System.nanoTime();
                    curves.add(new Curve(p, m.config().kind(), m.config().k(), SplicedSteering.sweep(source.encoder(),
                            manifest.layer(), layer, englishSeqs, centroids, experts, vs)));
                    log.printf(Locale.ROOT, "mxd steer: %s in %s%n", p,
                            ProgressLine.duration((System.nanoTime() - t0) / 1e9));
                    log.flush();
                }
            }
            return new Experiment(labeler.description(), manifest.layer(), english.size(), centroidDocs, curves);
        }
    }
}
