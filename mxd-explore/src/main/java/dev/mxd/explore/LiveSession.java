package dev.mxd.explore;

import dev.mxd.Backend;
import dev.mxd.DenseOps;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.RealText;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.harvest.Corpus;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.minilm.MiniLm;
import dev.mxd.text.minilm.MiniLmTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link LiveModel} on the real model and the harvest's corpus (all-MiniLM-L6-v2; DESIGN §7) for a trained layer and the
 * activation directory it was trained on, with everything it holds: the layer's model on a backend, the encoder's
 * weights on that backend's dense operations and the native tokenizer. Close it after the last call.
 */
public final class LiveSession implements AutoCloseable {
    private final MxdModel model;
    private final MxdLayer layer;
    private final DenseOps ops;
    private final MiniLmTokenizer tokenizer;
    private final LiveModel live;

    private LiveSession(MxdModel model, MxdLayer layer, DenseOps ops, MiniLmTokenizer tokenizer, LiveModel live) {
        this.model = model;
        this.layer = layer;
        this.ops = ops;
        this.tokenizer = tokenizer;
        this.live = live;
    }

    /**
     * Opens the session.
     *
     * @param modelPath a model directory, {@code .safetensors} file or reference {@code .pt}
     * @param data      the activation directory harvested from the real model ({@code manifest.json} says which
     *                  layer; its held-out documents are searched for the nearest)
     * @param layerOverride the layer the model replaces, or −1 for the one the model's {@code cfg.json} records
     *                      (else the data's manifest)
     * @param heldOut   how many held-out documents to embed and search (the first of {@code data/eval}), ≥ 1
     * @throws IllegalArgumentException when the data was not harvested from the real model, the widths disagree or
     *                                  the layer is out of range
     */
    public static LiveSession open(Path modelPath, Path data, int layerOverride, int heldOut, Backend backend)
            throws IOException {
        if (heldOut < 1) {
            throw new IllegalArgumentException("--held-out must be >= 1, got " + heldOut);
        }
        HarvestManifest manifest = HarvestManifest.read(data);
        if (!manifest.model().equals(RealText.MODEL)) {
            throw new IllegalArgumentException(data.resolve(HarvestManifest.FILE) + " was harvested from "
                    + manifest.model() + ", but the live page runs " + RealText.MODEL);
        }
        Corpus corpus = RealText.corpusOf(manifest);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            MxdModel model = ModelFiles.load(modelPath);
            opened.add(model);
            HarvestManifest.Recorded recorded = HarvestManifest.recordedIn(model.config());
            int at = layerOverride >= 0 ? layerOverride : recorded != null ? recorded.layer() : manifest.layer();
            MxdLayer layer = backend.load(model);
            opened.add(layer);
            DenseOps ops = backend.denseOps();
            opened.add(ops);
            MiniLmTokenizer tokenizer = MiniLmTokenizer.load(manifest.maxTokens());
            opened.add(tokenizer);
            MiniLm encoder = MiniLm.load(ops);
            List<Integer> docs = EmbeddingCosine.documents(data.resolve("eval"), heldOut);
            if (docs.isEmpty()) {
                throw new IllegalArgumentException(data.resolve("eval") + " holds no documents to search");
            }
            List<String> texts = texts(corpus, docs);
            List<LiveModel.Document> held = LiveModel.embed(encoder, tokenizer::tokenize, docs, texts);
            LiveModel live = new LiveModel(encoder, tokenizer::tokenize, at, layer, held);
            return new LiveSession(model, layer, ops, tokenizer, live);
        } catch (IOException | RuntimeException | Error e) {
            for (AutoCloseable c : opened.reversed()) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** The documents' texts from the corpus, in the order given. */
    private static List<String> texts(Corpus corpus, List<Integer> docs) throws IOException {
        Set<Integer> wanted = new HashSet<>(docs);
        int last = docs.stream().mapToInt(Integer::intValue).max().orElse(-1);
        Map<Integer, String> found = new HashMap<>();
        corpus.forEach((index, text) -> {
            if (wanted.contains(index)) {
                found.put(index, text);
            }
            return index < last;
        });
        List<String> texts = new ArrayList<>(docs.size());
        for (int d : docs) {
            String t = found.get(d);
            if (t == null) {
                throw new IllegalArgumentException("document " + d + " is not in " + corpus.name());
            }
            texts.add(t);
        }
        return texts;
    }

    /** The live model; valid until {@link #close()}. */
    public LiveModel live() {
        return live;
    }

    /** The trained layer's configuration. */
    public dev.mxd.MxdConfig config() {
        return model.config();
    }

    /** Releases the tokenizer, the encoder's weights, the layer and the model, in that order. */
    @Override
    public void close() {
        try (model; layer; ops; tokenizer) {
            // closed in reverse order of the resource list
        }
    }
}
