package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.experts.ExpertPass;
import dev.mxd.text.RealText;
import dev.mxd.text.experts.ExpertStatistics;
import dev.mxd.text.experts.TopActivations;
import dev.mxd.text.experts.TopContexts;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.Provenance;
import dev.mxd.text.minilm.MiniLmTokenizer;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.ActivationSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code stats} and {@code top} open: a model on a backend and one split of an activation directory, checked
 * against each other, and the one streamed pass over it. The caller closes it (the layer before the model).
 */
final class ExpertData implements AutoCloseable {
    final MxdModel model;
    final ActivationDirectory dir;
    final ActivationSource.Split split;
    final String splitName;
    final Backend backend;
    final MxdLayer layer;

    private ExpertData(MxdModel model, ActivationDirectory dir, ActivationSource.Split split, String splitName,
                       Backend backend, MxdLayer layer) {
        this.model = model;
        this.dir = dir;
        this.split = split;
        this.splitName = splitName;
        this.backend = backend;
        this.layer = layer;
    }

    /**
     * @param splitName {@code eval} or {@code train}
     * @param backend   the backend asked for, selected once the files are checked
     */
    static ExpertData open(Path modelPath, Path data, String splitName, BackendOption backend) throws Exception {
        if (!splitName.equals("eval") && !splitName.equals("train")) {
            throw new IllegalArgumentException("--split must be eval or train, got '" + splitName + "'");
        }
        MxdModel model = ModelFiles.load(modelPath);
        ActivationDirectory dir = null;
        try {
            dir = ActivationDirectory.open(data);
            MxdConfig cfg = model.config();
            if (dir.inputDim() != cfg.inputDim() || dir.outputDim() != cfg.outputDim()) {
                throw new IllegalArgumentException(data + " has x rows of " + dir.inputDim() + " and t rows of "
                        + dir.outputDim() + " values, but the model " + modelPath + " has d_in = " + cfg.inputDim()
                        + " and d_out = " + cfg.outputDim());
            }
            ActivationSource.Split split = splitName.equals("eval") ? dir.eval() : dir.train();
            if (split.tokens() == 0) {
                throw new IllegalArgumentException(data.resolve(splitName) + " holds no tokens");
            }
            Backend chosen = backend.select();
            return new ExpertData(model, dir, split, splitName, chosen, chosen.load(model));
        } catch (Exception | Error e) {
            if (dir != null) {
                dir.close();
            }
            model.close();
            throw e;
        }
    }

    /** Checks an expert index against the model's code space. */
    int checkExpert(int n) {
        MxdConfig cfg = model.config();
        if (n < 0 || n >= cfg.codeSpace()) {
            throw new IllegalArgumentException("--expert " + n + " is out of range [0, " + cfg.codeSpace() + ") ("
                    + (cfg.kind() == Kind.MXD ? "n_experts" : "d_sae") + " of this " + cfg.kind() + ")");
        }
        return n;
    }

    /** What a statistics or top-contexts file records about the pass. */
    Map<String, String> about(Path modelPath, Path data) {
        MxdConfig cfg = model.config();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", modelPath.toAbsolutePath().normalize().toString());
        m.put("data", data.toAbsolutePath().normalize().toString());
        m.put("split", splitName);
        m.put("kind", cfg.kind().toString());
        m.put("k", Integer.toString(cfg.k()));
        m.put("backend", backend.name());
        return m;
    }

    /** One pass over the whole split, feeding the statistics and the other sinks. */
    long pass(ExpertStatistics.Accumulator stats, List<ExpertPass.Sink> more, int batch) {
        List<ExpertPass.Sink> sinks = new java.util.ArrayList<>();
        sinks.add(stats);
        sinks.addAll(more);
        return ExpertPass.run(layer, split, dir.inputDim(), dir.outputDim(), 0, batch, sinks);
    }

    /**
     * The statistics and top contexts of one pass.
     *
     * @param note why the contexts have no text, or null when they have
     */
    record Computed(ExpertStatistics stats, TopContexts contexts, String note) {
    }

    /**
     * One pass giving the statistics and the top {@code m} contexts of the experts {@code only} (null: all), with
     * the documents' text when the data was harvested from the real model.
     */
    Computed statsAndTop(Path modelPath, Path data, int m, int[] only, int batch) throws IOException {
        try (Provenance provenance = Provenance.open(data.resolve(splitName))) {
            int n = model.config().codeSpace();
            ExpertStatistics.Accumulator acc = ExpertStatistics.accumulator(n);
            TopActivations top = new TopActivations(n, m, TopContexts.SAMPLED);
            pass(acc, List.of(top), batch);
            Map<String, String> about = about(modelPath, data);
            ExpertStatistics stats = acc.finish(about);
            TopContexts contexts = TopContexts.build(top, stats, provenance, only, about);
            if (!HarvestManifest.exists(data)) {
                return new Computed(stats, contexts, data + " has no manifest.json: no text to show");
            }
            HarvestManifest manifest = HarvestManifest.read(data);
            if (!manifest.model().equals(RealText.MODEL)) {
                return new Computed(stats, contexts, "the data comes from " + manifest.model()
                        + ", whose tokenizer this mxd does not have: no text to show");
            }
            try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(manifest.maxTokens())) {
                return new Computed(stats, contexts.withContexts(RealText.corpusOf(manifest), tokenizer::tokenize),
                        null);
            }
        }
    }

    @Override
    public void close() {
        try {
            layer.close();
        } finally {
            try {
                dir.close();
            } finally {
                model.close();
            }
        }
    }
}
