package dev.mxd.text.eval;

import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.Json;
import dev.mxd.text.TextSources;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.TextFileCorpus;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.ActivationSource;
import dev.mxd.train.Metrics;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evaluation of {@code ./mxd eval} and {@code ./mxd demo}: a model's metrics on the held-out split
 * {@code DIR/eval} (DESIGN §2) and, for data harvested from the real model, the downstream figures of the model
 * spliced in place of the MLP it approximates ({@link EmbeddingCosine}).
 */
public final class Evaluation {

    private Evaluation() {
    }

    /**
     * The outcome.
     *
     * @param summary                    FVU (around the held-out mean, in double), NMSE, L0, dead fraction, loss
     * @param dead                       code indices that never fired on the held-out tokens
     * @param denseFraction              the fraction of code indices firing on more than 10 % of those tokens
     * @param l2Ratio                    the mean of ‖ŷ‖ / ‖t‖
     * @param relativeReconstructionBias Σ‖ŷ‖² / Σ⟨t, ŷ⟩
     * @param splice                     the downstream figures, or null when not measured
     */
    public record Result(Metrics.Summary summary, long dead, int codeSpace, double denseFraction, double l2Ratio,
                         double relativeReconstructionBias, String backend, double seconds, SpliceResult splice) {

        /**
         * One JSON object: {@code fvu}, {@code nmse}, {@code l0}, {@code dead_fraction}, {@code loss},
         * {@code tokens} (the window of the dead and dense fractions), {@code dead}, {@code code_space},
         * {@code dense_fraction}, {@code l2_ratio}, {@code relative_reconstruction_bias}, {@code backend}; when the
         * downstream figures are measured, {@code embedding_cosine} and {@code cosine_documents} (the replaced
         * cosine and its documents), {@code splice} ({@code real} or {@code all}) and {@code downstream}: {@link
         * SpliceResult#fields()}.
         */
        public String json() {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("fvu", Json.finiteOrNull(summary.fvu()));
            o.put("nmse", Json.finiteOrNull(summary.nmse()));
            o.put("l0", Json.finiteOrNull(summary.l0()));
            o.put("dead_fraction", Json.finiteOrNull(summary.deadFraction()));
            o.put("loss", Json.finiteOrNull(summary.loss()));
            o.put("tokens", summary.tokens());
            o.put("dead", dead);
            o.put("code_space", codeSpace);
            o.put("dense_fraction", Json.finiteOrNull(denseFraction));
            o.put("l2_ratio", Json.finiteOrNull(l2Ratio));
            o.put("relative_reconstruction_bias", Json.finiteOrNull(relativeReconstructionBias));
            o.put("backend", backend);
            if (splice != null) {
                o.put("embedding_cosine", Json.finiteOrNull(splice.downstream().cosineReplaced()));
                o.put("cosine_documents", splice.downstream().documents());
                o.put("splice", splice.positions().id());
                o.put("downstream", splice.fields());
            }
            return Json.writeCompact(o);
        }
    }

    /** The downstream figures of one model and its errors by position on the same documents. */
    public record SpliceResult(EmbeddingCosine.Positions positions, EmbeddingCosine.Downstream downstream,
                               EmbeddingCosine.PositionErrors errors) {

        /**
         * {@code cosine_replaced}, {@code cosine_zero_ablation}, {@code cosine_mean_ablation},
         * {@code score_zero_ablation}, {@code score_mean_ablation}, {@code recall_at_10}, {@code documents}, and the
         * NMSE against the MLP at {@code [CLS]}, the real tokens and {@code [SEP]}: {@code nmse_cls},
         * {@code nmse_real}, {@code nmse_sep}; non-finite values as null.
         */
        public Map<String, Object> fields() {
            EmbeddingCosine.Downstream d = downstream;
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("cosine_replaced", Json.finiteOrNull(d.cosineReplaced()));
            o.put("cosine_zero_ablation", Json.finiteOrNull(d.cosineZeroAblation()));
            o.put("cosine_mean_ablation", Json.finiteOrNull(d.cosineMeanAblation()));
            o.put("score_zero_ablation", Json.finiteOrNull(d.scoreZeroAblation()));
            o.put("score_mean_ablation", Json.finiteOrNull(d.scoreMeanAblation()));
            o.put("recall_at_10", Json.finiteOrNull(d.recallAt10()));
            o.put("documents", d.documents());
            o.put("nmse_cls", Json.finiteOrNull(errors.cls()));
            o.put("nmse_real", Json.finiteOrNull(errors.real()));
            o.put("nmse_sep", Json.finiteOrNull(errors.sep()));
            return o;
        }
    }

    /**
     * The downstream set-up for one activation directory.
     *
     * @param owned released on close (the text source, when the set-up opened it), or null
     */
    public record Splice(EmbeddingCosine cosine, HarvestManifest manifest, AutoCloseable owned) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (owned != null) {
                owned.close();
            }
        }
    }

    /**
     * The downstream set-up for {@code data}, or null when it does not apply: {@code documents} is 0, or
     * {@code data} has no {@code manifest.json}, or the manifest names another model than {@code texts}'s. The
     * model is loaded only when it applies.
     *
     * @throws IllegalArgumentException as {@link #splice(Path, HarvestManifest, TextSource, int, EmbeddingCosine.Positions)}
     */
    public static Splice splice(Path data, TextSources texts, int documents, EmbeddingCosine.Positions positions)
            throws Exception {
        if (documents < 0) {
            throw new IllegalArgumentException("--cosine-docs must be >= 0, got " + documents);
        }
        if (documents == 0 || !HarvestManifest.exists(data)) {
            return null;
        }
        HarvestManifest m = HarvestManifest.read(data);
        if (!m.model().equals(texts.model())) {
            return null;
        }
        TextSource opened = texts.open();
        try {
            // a harvest of the user's own text reads that file again, not the source's built-in corpus
            TextSource source = m.corpusFile() == null ? opened : opened.withCorpus(TextFileCorpus.of(m));
            return new Splice(splice(data, m, source, documents, positions).cosine(), m, opened);
        } catch (Exception | Error e) {
            opened.close();
            throw e;
        }
    }

    /**
     * The downstream set-up for {@code data}, harvested from {@code source}'s model as {@code m} says: the first
     * {@code documents} distinct documents of {@code data/eval}'s {@code doc} tensors, run once through the
     * unmodified encoder and once with the MLP ablated (zero, and the mean of {@code data/train}'s {@code t}) at
     * {@code positions}. The caller keeps ownership of {@code source}.
     *
     * @throws IllegalArgumentException when the manifest names another model, corpus or maximum length than the
     *                                  source's, or {@code data/eval} has no documents, or {@code data/train} no
     *                                  tokens
     */
    public static Splice splice(Path data, HarvestManifest m, TextSource source, int documents,
                                EmbeddingCosine.Positions positions) throws IOException {
        if (!m.model().equals(source.model()) || !source.corpus().name().equals(m.corpus())
                || source.maxTokens() != m.maxTokens()) {
            throw new IllegalArgumentException(data.resolve(HarvestManifest.FILE) + " was harvested from " + m.model()
                    + " on " + m.corpus() + " at " + m.maxTokens() + " tokens per document, but this mxd reads "
                    + source.model() + " on " + source.corpus().name() + " at " + source.maxTokens());
        }
        List<Integer> docs = EmbeddingCosine.documents(data.resolve("eval"), documents);
        if (docs.isEmpty()) {
            throw new IllegalArgumentException(data.resolve("eval") + " holds no documents to measure the embedding"
                    + " cosine on");
        }
        float[] mean;
        try (ActivationDirectory dir = ActivationDirectory.open(data)) {
            mean = meanTarget(dir);
        }
        return new Splice(new EmbeddingCosine(source.encoder(), m.layer(), EmbeddingCosine.sequences(source, docs),
                positions, mean), m, null);
    }

    /**
     * The mean target row of the training split, accumulated in double.
     *
     * @return [O]
     * @throws IllegalArgumentException when the split is empty
     */
    public static float[] meanTarget(ActivationSource source) {
        ActivationSource.Split split = source.train();
        if (split.tokens() < 1) {
            throw new IllegalArgumentException("the training split is empty: the mean ablation needs its mean output");
        }
        int in = source.inputDim(), out = source.outputDim();
        int chunk = (int) Math.min(4096, split.tokens());
        float[] x = new float[chunk * in], t = new float[chunk * out];
        double[] sum = new double[out];
        for (long row = 0; row < split.tokens(); row += chunk) {
            int n = (int) Math.min(chunk, split.tokens() - row);
            split.read(row, n, x, t, 0);
            for (int r = 0; r < n; r++) {
                for (int o = 0; o < out; o++) {
                    sum[o] += t[r * out + o];
                }
            }
        }
        float[] mean = new float[out];
        for (int o = 0; o < out; o++) {
            mean[o] = (float) (sum[o] / split.tokens());
        }
        return mean;
    }

    /**
     * Evaluates {@code model} on the first {@code tokens} rows of {@code dir}'s held-out split (0: all) in chunks
     * of {@code batch} tokens, and measures the embedding cosine when {@code splice} is given.
     *
     * @throws IllegalArgumentException when the widths disagree, the held-out split is empty, or a target row
     *                                  has zero norm (naming the shard and row)
     */
    public static Result run(MxdModel model, ActivationDirectory dir, long tokens, int batch, Backend backend, Splice splice)
            throws IOException {
        if (batch < 1 || tokens < 0) {
            throw new IllegalArgumentException("--batch must be >= 1 and --tokens >= 0, got " + batch + " and " + tokens);
        }
        MxdConfig cfg = model.config();
        if (dir.inputDim() != cfg.inputDim() || dir.outputDim() != cfg.outputDim()) {
            throw new IllegalArgumentException(dir.directory() + " has x rows of " + dir.inputDim() + " and t rows of "
                    + dir.outputDim() + " values, but the model has d_in = " + cfg.inputDim() + " and d_out = "
                    + cfg.outputDim());
        }
        ActivationSource.Split eval = dir.eval();
        long total = tokens > 0 ? Math.min(tokens, eval.tokens()) : eval.tokens();
        if (total < 1) {
            throw new IllegalArgumentException("the held-out split " + dir.directory().resolve("eval")
                    + " is empty or missing");
        }
        Metrics metrics = new Metrics(cfg.outputDim(), cfg.codeSpace());
        int chunk = (int) Math.min(batch, total);
        float[] x = new float[chunk * cfg.inputDim()];
        float[] t = new float[chunk * cfg.outputDim()];
        float[] y = new float[chunk * cfg.outputDim()];
        long started = System.nanoTime();
        SpliceResult spliced = null;
        try (MxdLayer layer = backend.load(model)) {
            for (long row = 0; row < total; row += chunk) {
                int n = (int) Math.min(chunk, total - row);
                eval.read(row, n, x, t, 0);
                checkTargets(eval, row, t, n, cfg.outputDim());
                Codes codes = Codes.onHeap(n, cfg.k());
                MemorySegment ys = MemorySegment.ofArray(y).asSlice(0, (long) n * cfg.outputDim() * Float.BYTES);
                layer.forward(MemorySegment.ofArray(x).asSlice(0, (long) n * cfg.inputDim() * Float.BYTES), n, ys, codes);
                metrics.add(ys, MemorySegment.ofArray(t).asSlice(0, (long) n * cfg.outputDim() * Float.BYTES), codes, n);
            }
            if (splice != null) {
                spliced = new SpliceResult(splice.cosine().positions(), splice.cosine().downstream(layer),
                        splice.cosine().positionErrors(layer));
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        long dead = Arrays.stream(metrics.firingCounts()).filter(c -> c == 0).count();
        return new Result(metrics.summary(), dead, cfg.codeSpace(), metrics.denseFraction(), metrics.l2Ratio(),
                metrics.relativeReconstructionBias(), backend.name(), seconds, spliced);
    }

    private static void checkTargets(ActivationSource.Split eval, long row0, float[] t, int n, int width) {
        for (int r = 0; r < n; r++) {
            double s = 0;
            for (int j = r * width; j < (r + 1) * width; j++) {
                s += (double) t[j] * t[j];
            }
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("target row with norm " + Math.sqrt(s) + " at " + eval.describe(row0 + r)
                        + ": the normalised loss divides by ‖t‖, so zero (or non-finite) target rows are not allowed");
            }
        }
    }
}
