package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.RealText;
import dev.mxd.text.TextSources;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.probe.DocumentLabels;
import dev.mxd.text.probe.PooledCodes;
import dev.mxd.text.probe.SparseProbing;
import dev.mxd.train.ActivationDirectory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "probe", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sparse probing for language identification (SAEBench's protocol, as the MxD paper uses it): the"
                + " documents of a harvested directory (both splits) are labelled by a language detector (Lingua, among"
                + " the 21 Europarl languages; only confident labels are kept: the corpus has no language field) and"
                + " split by document into probe-training and test sides. Each model's codes are mean-pooled over each"
                + " document's tokens. Per language, on a balanced one-against-the-rest set: the top 100 codes by"
                + " class-mean difference, a 1-D logistic regression on each (the best test F1 and its expert), and"
                + " k-sparse probes on the top k (k = 1, 2, 5) with their test accuracy.",
                "With --json, stdout holds one JSON object: {\"labels\", \"languages\", \"models\": [{\"model\", \"kind\","
                        + " \"k\", \"per_language\": {LANG: {\"best_f1\", \"best_expert\", \"k_sparse_accuracy\": {\"1\","
                        + " \"2\", \"5\"}}}}]}; progress goes to stderr."})
final class ProbeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    final TextSources texts;
    final Supplier<DocumentLabels.Labeler> labelers;

    ProbeCommand() {
        this(RealText.SOURCES, LinguaLabeler::new);
    }

    ProbeCommand(TextSources texts, Supplier<DocumentLabels.Labeler> labelers) {
        this.texts = texts;
        this.labelers = labelers;
    }

    @Option(names = "--models", required = true, arity = "1..*", paramLabel = "MODEL",
            description = "Models to probe (directories, .safetensors or .pt), e.g. the MxD, TC and STC at one K.")
    List<Path> models;

    @Option(names = "--data", required = true, paramLabel = "DIR",
            description = "Activation directory harvested from text (./mxd harvest), with its manifest.json.")
    Path data;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Option(names = "--test-fraction", paramLabel = "F", defaultValue = "0.3",
            description = "Fraction of documents on the test side (default: ${DEFAULT-VALUE}).")
    double testFraction;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the document split and the negative sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--min-docs", paramLabel = "N", defaultValue = "5",
            description = "Probe a language only with at least N documents on each side (default: ${DEFAULT-VALUE}).")
    int minDocs;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        SparseProbing.Settings settings = new SparseProbing.Settings(seed, testFraction, minDocs, new int[] {1, 2, 5});
        Backend chosen = backend.select();
        PrintWriter err = spec.commandLine().getErr();
        Report report = run(err, texts, labelers, data, models, settings, chosen);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? report.json() + System.lineSeparator() : report.table());
        out.flush();
        return 0;
    }

    /** One model's probes. */
    record ModelProbes(Path model, MxdConfig config, List<SparseProbing.ClassResult> classes) {
        String name() {
            Path f = model.getFileName();
            return f == null ? model.toString() : f.toString();
        }

        SparseProbing.ClassResult of(String language) {
            return classes.stream().filter(c -> c.label().equals(language)).findFirst().orElse(null);
        }
    }

    /**
     * What {@code probe} found.
     *
     * @param labels    what gave the labels
     * @param documents documents in the directory
     * @param labelled  documents with a confident label
     * @param languages the languages probed (those with enough documents on both sides), ascending
     */
    record Report(String labels, int documents, int labelled, SparseProbing.Settings settings, List<String> languages,
                  List<ModelProbes> models, double seconds) {

        /** The JSON object of {@code probe --json}. */
        String json() {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("labels", labels);
            o.put("languages", languages);
            List<Object> ms = new ArrayList<>();
            for (ModelProbes m : models) {
                Map<String, Object> mo = new LinkedHashMap<>();
                mo.put("model", m.model().toString());
                mo.put("kind", m.config().kind().name().toLowerCase(Locale.ROOT));
                mo.put("k", m.config().k());
                Map<String, Object> per = new LinkedHashMap<>();
                for (SparseProbing.ClassResult c : m.classes()) {
                    Map<String, Object> co = new LinkedHashMap<>();
                    co.put("best_f1", Json.finiteOrNull(c.bestF1()));
                    co.put("best_expert", c.bestCode());
                    Map<String, Object> acc = new LinkedHashMap<>();
                    c.kSparseAccuracy().forEach((k, a) -> acc.put(Integer.toString(k), Json.finiteOrNull(a)));
                    co.put("k_sparse_accuracy", acc);
                    per.put(c.label(), co);
                }
                mo.put("per_language", per);
                ms.add(mo);
            }
            o.put("models", ms);
            return Json.writeCompact(o);
        }

        /** The table: a row per language, per model its best F1 (expert) and k-sparse accuracies. */
        String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "Sparse probing, language identification: %,d documents, %,d with a"
                            + " confident label (labels %s); %d languages probed; documents split %.0f/%.0f (seed %d),"
                            + " each language against a balanced sample of the others.%n", documents, labelled, labels,
                    languages.size(), 100 * (1 - settings.testFraction()), 100 * settings.testFraction(),
                    settings.seed()));
            b.append(String.format(Locale.ROOT, "F1: the best test F1 of a 1-D probe among the top %d codes by"
                    + " class-mean difference (its expert or latent in brackets); acc@k: test accuracy of a probe on the"
                    + " top k (chance 0.5).%n%n", SparseProbing.CANDIDATES));
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-5s %10s", "lang", "docs"));
            for (ModelProbes m : models) {
                head.append(String.format(Locale.ROOT, " | %-33s", m.name() + " (" + m.config().kind().name()
                        .toLowerCase(Locale.ROOT) + ", K " + m.config().k() + ")"));
            }
            b.append(head).append(System.lineSeparator());
            StringBuilder sub = new StringBuilder(String.format(Locale.ROOT, "%-5s %10s", "", "train/test"));
            for (int i = 0; i < models.size(); i++) {
                sub.append(String.format(Locale.ROOT, " | %5s %-8s %5s %5s %5s", "F1", "(expert)", "acc@1", "acc@2",
                        "acc@5"));
            }
            b.append(sub).append(System.lineSeparator());
            double[][] sums = new double[models.size()][4];
            for (String lang : languages) {
                SparseProbing.ClassResult first = models.get(0).of(lang);
                b.append(String.format(Locale.ROOT, "%-5s %10s", lang, first == null ? "-"
                        : first.trainDocuments() + "/" + first.testDocuments()));
                for (int i = 0; i < models.size(); i++) {
                    SparseProbing.ClassResult c = models.get(i).of(lang);
                    double[] v = {c.bestF1(), acc(c, 1), acc(c, 2), acc(c, 5)};
                    b.append(String.format(Locale.ROOT, " | %5.3f %-8s %5.3f %5.3f %5.3f", v[0], "(" + c.bestCode() + ")",
                            v[1], v[2], v[3]));
                    for (int j = 0; j < 4; j++) {
                        sums[i][j] += v[j];
                    }
                }
                b.append(System.lineSeparator());
            }
            b.append(String.format(Locale.ROOT, "%-5s %10s", "mean", ""));
            for (double[] s : sums) {
                b.append(String.format(Locale.ROOT, " | %5.3f %-8s %5.3f %5.3f %5.3f", s[0] / languages.size(), "",
                        s[1] / languages.size(), s[2] / languages.size(), s[3] / languages.size()));
            }
            b.append(System.lineSeparator());
            return b.toString();
        }

        private static double acc(SparseProbing.ClassResult c, int k) {
            Double a = c.kSparseAccuracy().get(k);
            return a == null ? Double.NaN : a;
        }
    }

    /**
     * Labels the documents of {@code data} and probes each model, writing progress to {@code log}.
     *
     * @throws IllegalArgumentException when {@code data} has no manifest, was harvested from another model or corpus
     *                                  than {@code texts} reads, a model's input width is not the data's, or no
     *                                  language has enough documents
     */
    static Report run(PrintWriter log, TextSources texts, Supplier<DocumentLabels.Labeler> labelers, Path data,
                      List<Path> models, SparseProbing.Settings settings, Backend backend) throws Exception {
        long started = System.nanoTime();
        if (!HarvestManifest.exists(data)) {
            throw new IllegalArgumentException(data + " has no " + HarvestManifest.FILE + ": probing reads each"
                    + " document's text to label it, so it needs a directory harvested from text (./mxd harvest)");
        }
        HarvestManifest manifest = HarvestManifest.read(data);
        try (ActivationDirectory dir = ActivationDirectory.open(data)) {
            for (Path p : models) {
                try (MxdModel m = ModelFiles.load(p)) {
                    if (m.config().inputDim() != dir.inputDim()) {
                        throw new IllegalArgumentException(p + " has d_in = " + m.config().inputDim() + " but " + data
                                + " has x rows of " + dir.inputDim() + " values");
                    }
                }
            }
            Set<Integer> docs = PooledCodes.documents(dir);
            DocumentLabels.Labeler labeler = labelers.get();
            Map<Integer, String> labels;
            log.printf(Locale.ROOT, "mxd probe: labelling %,d documents (%s)%n", docs.size(), labeler.description());
            log.flush();
            long l0 = System.nanoTime();
            try (TextSource source = texts.open()) {
                if (!manifest.model().equals(source.model()) || !manifest.corpus().equals(source.corpus().name())) {
                    throw new IllegalArgumentException(data + " was harvested from " + manifest.model() + " on "
                            + manifest.corpus() + ", but this mxd reads " + source.model() + " on "
                            + source.corpus().name());
                }
                labels = DocumentLabels.label(source.corpus(), docs, labeler);
            }
            log.printf(Locale.ROOT, "mxd probe: %,d of %,d documents labelled confidently in %s%n", labels.size(),
                    docs.size(), ProgressLine.duration((System.nanoTime() - l0) / 1e9));
            List<ModelProbes> probes = new ArrayList<>();
            Set<String> languages = new TreeSet<>();
            for (Path p : models) {
                long m0 = System.nanoTime();
                try (MxdModel m = ModelFiles.load(p); MxdLayer layer = backend.load(m)) {
                    PooledCodes pooled = PooledCodes.encode(layer, dir);
                    List<SparseProbing.ClassResult> classes = SparseProbing.run(pooled, labels, settings);
                    probes.add(new ModelProbes(p, m.config(), classes));
                    classes.forEach(c -> languages.add(c.label()));
                    log.printf(Locale.ROOT, "mxd probe: %s (%s, K %d): %d languages in %s%n", p,
                            m.config().kind().name(), m.config().k(), classes.size(),
                            ProgressLine.duration((System.nanoTime() - m0) / 1e9));
                    log.flush();
                }
            }
            if (languages.isEmpty()) {
                throw new IllegalArgumentException("no language has " + settings.minDocuments() + " confidently"
                        + " labelled documents on each side of the split (" + labels.size() + " labelled of "
                        + docs.size() + "); harvest more text or lower --min-docs");
            }
            return new Report(labeler.description(), docs.size(), labels.size(), settings, List.copyOf(languages),
                    probes, (System.nanoTime() - started) / 1e9);
        }
    }
}
