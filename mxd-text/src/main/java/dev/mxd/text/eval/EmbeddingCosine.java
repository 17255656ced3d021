package dev.mxd.text.eval;

import dev.mxd.MxdLayer;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.minilm.MlpHook;
import dev.mxd.text.minilm.SentenceEncoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Map;
import java.util.SequencedSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * How faithfully a trained layer stands in for the MLP it approximates, measured on the model's own output (our
 * analogue of the paper's "cross-entropy loss recovered"): the layer is spliced into the encoder in place of one
 * layer's MLP and the sentence embeddings ({@link SentenceEncoder#sentenceEmbedding}) of a fixed list of
 * documents are compared with the original ones (DESIGN §7).
 *
 * <p>{@link Positions} says where the splice acts: at the real tokens only (the default, the positions the layer
 * was trained on; {@code [CLS]} and {@code [SEP]} keep the MLP's own output) or at every position. The same
 * positions are ablated for the reference points of {@link #downstream}: the MLP's output replaced by zero, and
 * by the mean MLP output of the training split.
 *
 * <p>The original and ablated embeddings are computed once, at construction, so one instance measures several
 * layers against the same reference. Thread-safe once constructed if the encoder is.
 *
 * <p>The splice reads the encoder's MLP input and writes its output once per sequence; an encoder that stacks
 * sequences ({@link SentenceEncoder#lastHiddenStates}) still calls the hook per sequence.
 */
public final class EmbeddingCosine {
    /** Sequences run through the encoder together, the same groups for the original and the spliced runs. */
    private static final int GROUP = 16;
    /** The neighbours of the retrieval score. */
    public static final int NEIGHBOURS = 10;

    /** Where a splice replaces the MLP's output. */
    public enum Positions {
        /** Every position but the first ({@code [CLS]}) and the last ({@code [SEP]}): the tokens harvested. */
        REAL,
        /** Every position, special tokens included. */
        ALL;

        /** The name used on the command line and in JSON: {@code real} or {@code all}. */
        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /**
         * The positions named {@code id}.
         *
         * @throws IllegalArgumentException for another name
         */
        public static Positions of(String id) {
            for (Positions p : values()) {
                if (p.id().equals(id)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown splice positions '" + id + "': expected real or all");
        }
    }

    /** The replacement of the MLP on the spliced rows. */
    @FunctionalInterface
    public interface RowMap {
        /**
         * @param input  [rows, width] row-major: the MLP's input at the spliced positions (a copy)
         * @param output [rows, width] row-major, to be filled with the replacement's output
         */
        void apply(int rows, float[] input, float[] output);
    }

    /**
     * The downstream figures of one replacement.
     *
     * @param cosineReplaced     mean cosine of the replaced embeddings to the original ones
     * @param cosineZeroAblation the same with the MLP's output set to zero at the spliced positions
     * @param cosineMeanAblation the same with it set to the training split's mean output (NaN when no mean given)
     * @param scoreZeroAblation  {@code (cosineReplaced − cosineZeroAblation) / (1 − cosineZeroAblation)}: 1 for an
     *                           exact replacement, 0 for one as bad as the ablation
     * @param scoreMeanAblation  the same against the mean ablation
     * @param recallAt10         the mean over documents of the fraction of its {@link #NEIGHBOURS} nearest neighbours
     *                           by the original embeddings that are also its nearest under the replaced ones; NaN
     *                           for fewer than 12 documents (with 11 every other document is a neighbour)
     * @param documents          the documents averaged over
     */
    public record Downstream(double cosineReplaced, double cosineZeroAblation, double cosineMeanAblation,
                             double scoreZeroAblation, double scoreMeanAblation, double recallAt10, int documents) {
    }

    /**
     * The normalised squared error {@code Σ‖ŷ − t‖² / Σ‖t‖²} of a replacement against the MLP's own output, by
     * position: the first ({@code [CLS]}), the last ({@code [SEP]}) and the others, all measured in the unmodified
     * encoder.
     */
    public record PositionErrors(double cls, double real, double sep) {
    }

    private final SentenceEncoder encoder;
    private final int layer;
    private final Positions positions;
    private final List<int[]> sequences;
    private final float[][] original;
    private final float[][] zeroAblated;
    private final float[][] meanAblated;

    /** As {@link #EmbeddingCosine(SentenceEncoder, int, List, Positions, float[])} at the real tokens, no mean. */
    public EmbeddingCosine(SentenceEncoder encoder, int layer, List<int[]> sequences) {
        this(encoder, layer, sequences, Positions.REAL, null);
    }

    /**
     * Runs the unmodified encoder over {@code sequences}, and the encoder with the MLP zero-ablated and
     * mean-ablated at {@code positions}.
     *
     * @param sequences  token ids of each document, special tokens included (not copied; not to be changed)
     * @param meanOutput [width]: the mean MLP output over the training split (copied), or null: no mean ablation
     * @throws IllegalArgumentException for an empty list, a layer out of range or a mean of another width
     */
    public EmbeddingCosine(SentenceEncoder encoder, int layer, List<int[]> sequences, Positions positions,
                           float[] meanOutput) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("the embedding cosine needs at least one document");
        }
        if (layer < 0 || layer >= encoder.layers()) {
            throw new IllegalArgumentException("layer " + layer + " is out of range 0.." + (encoder.layers() - 1));
        }
        int w = encoder.width();
        if (meanOutput != null && meanOutput.length != w) {
            throw new IllegalArgumentException("the mean output has " + meanOutput.length + " values, the encoder's"
                    + " MLP outputs " + w);
        }
        this.encoder = encoder;
        this.layer = layer;
        this.positions = java.util.Objects.requireNonNull(positions, "positions");
        this.sequences = List.copyOf(sequences);
        this.original = embed(null);
        this.zeroAblated = embed(splice((rows, in, out) -> Arrays.fill(out, 0f)));
        if (meanOutput != null) {
            float[] mean = meanOutput.clone();
            this.meanAblated = embed(splice((rows, in, out) -> {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(mean, 0, out, r * w, w);
                }
            }));
        } else {
            this.meanAblated = null;
        }
    }

    /** The number of documents averaged over. */
    public int documents() {
        return sequences.size();
    }

    /** Where the splice acts. */
    public Positions positions() {
        return positions;
    }

    /**
     * The mean cosine similarity between the original embeddings and those with {@code replacement}'s forward
     * pass in place of the MLP's output at {@link #positions()}.
     *
     * @param replacement a layer with I = O = the encoder's width (the caller keeps ownership)
     * @throws IllegalArgumentException when the layer's widths are not the encoder's
     */
    public double meanCosine(MxdLayer replacement) {
        return meanCosine(original, embed(splice(rows(replacement))));
    }

    /**
     * The mean cosine similarity between the original embeddings and those computed with {@code hook} at the
     * layer's MLP (every position: the hook decides what to replace).
     */
    public double meanCosine(MlpHook hook) {
        return meanCosine(original, embed(hook));
    }

    /**
     * The downstream figures of {@code replacement} spliced in at {@link #positions()}.
     *
     * @param replacement a layer with I = O = the encoder's width (the caller keeps ownership)
     * @throws IllegalArgumentException when the layer's widths are not the encoder's
     */
    public Downstream downstream(MxdLayer replacement) {
        return downstream(rows(replacement));
    }

    /** The downstream figures of {@code replacement} spliced in at {@link #positions()}. */
    public Downstream downstream(RowMap replacement) {
        float[][] replaced = embed(splice(replacement));
        double cos = meanCosine(original, replaced);
        double zero = meanCosine(original, zeroAblated);
        double mean = meanAblated == null ? Double.NaN : meanCosine(original, meanAblated);
        return new Downstream(cos, zero, mean, score(cos, zero), score(cos, mean), recall(original, replaced),
                original.length);
    }

    /**
     * The errors of {@code replacement} against the MLP's own output at each kind of position, over the documents.
     *
     * @param replacement a layer with I = O = the encoder's width (the caller keeps ownership)
     */
    public PositionErrors positionErrors(MxdLayer replacement) {
        RowMap map = rows(replacement);
        int w = encoder.width();
        double[] err = new double[3], norm = new double[3];   // [CLS], real, [SEP]
        MlpHook observe = (n, input, output) -> {
            float[] y = new float[n * w];
            map.apply(n, input, y);
            for (int p = 0; p < n; p++) {
                int c = p == 0 ? 0 : p == n - 1 ? 2 : 1;
                for (int j = p * w; j < (p + 1) * w; j++) {
                    double d = (double) y[j] - output[j];
                    err[c] += d * d;
                    norm[c] += (double) output[j] * output[j];
                }
            }
        };
        for (int from = 0; from < sequences.size(); from += GROUP) {
            // one group at a time: the hook's sums are not shared between threads
            encoder.lastHiddenStates(sequences.subList(from, Math.min(sequences.size(), from + GROUP)), layer, observe);
        }
        return new PositionErrors(err[0] / norm[0], err[1] / norm[1], err[2] / norm[2]);
    }

    /** {@code (replaced − ablated) / (1 − ablated)}: the share of the ablation's damage that the replacement undoes. */
    public static double score(double replaced, double ablated) {
        return (replaced - ablated) / (1 - ablated);
    }

    private RowMap rows(MxdLayer replacement) {
        int w = encoder.width();
        if (replacement.config().inputDim() != w || replacement.config().outputDim() != w) {
            throw new IllegalArgumentException("the layer maps " + replacement.config().inputDim() + " to "
                    + replacement.config().outputDim() + " values, but the encoder's MLP maps " + w + " to " + w);
        }
        return (rows, input, output) -> System.arraycopy(replacement.forward(input).y(), 0, output, 0, rows * w);
    }

    /** The hook that runs {@code map} at {@link #positions()} and keeps the MLP's output elsewhere. */
    private MlpHook splice(RowMap map) {
        return splice(positions, encoder.width(), map);
    }

    /**
     * The hook every splice of a layer into the encoder goes through (evaluation, steering, the explorer): it runs
     * {@code map} on the rows at {@code positions} of each sequence and keeps the MLP's own output at the others.
     *
     * @param width the encoder's width (the MLP's input and output)
     */
    public static MlpHook splice(Positions positions, int width, RowMap map) {
        Objects.requireNonNull(positions, "positions");
        Objects.requireNonNull(map, "map");
        return (n, input, output) -> {
            int from = positions == Positions.ALL ? 0 : 1;
            int to = positions == Positions.ALL ? n : n - 1;
            if (to <= from) {
                return;   // [CLS] [SEP] alone: no real token to replace
            }
            float[] in = Arrays.copyOfRange(input, from * width, to * width);
            float[] out = new float[in.length];
            map.apply(to - from, in, out);
            System.arraycopy(out, 0, output, from * width, out.length);
        };
    }

    private static double meanCosine(float[][] a, float[][] b) {
        double sum = 0;
        for (int d = 0; d < a.length; d++) {
            sum += cosine(a[d], b[d]);
        }
        return sum / a.length;
    }

    private float[][] embed(MlpHook hook) {
        return embeddings(encoder, layer, sequences, hook);
    }

    /**
     * The sentence embeddings ({@link SentenceEncoder#sentenceEmbedding}) of {@code sequences}, run in fixed groups
     * with {@code hook} at {@code layer}'s MLP (null: the unmodified encoder).
     *
     * @param sequences token ids per document, special tokens included
     * @return [documents][width], new arrays
     */
    public static float[][] embeddings(SentenceEncoder encoder, int layer, List<int[]> sequences, MlpHook hook) {
        int w = encoder.width();
        float[][] out = new float[sequences.size()][];
        for (int from = 0; from < sequences.size(); from += GROUP) {
            List<int[]> group = sequences.subList(from, Math.min(sequences.size(), from + GROUP));
            List<float[]> hidden = encoder.lastHiddenStates(group, layer, hook);
            for (int i = 0; i < group.size(); i++) {
                out[from + i] = SentenceEncoder.sentenceEmbedding(hidden.get(i), group.get(i).length, w);
            }
        }
        return out;
    }

    /**
     * The mean over documents of |N(d) ∩ N'(d)| / k, where N(d) are the k = {@link #NEIGHBOURS} nearest other
     * documents by cosine under {@code original} and N'(d) under {@code replaced}. Ties go to the lower index. NaN
     * unless there are more than k + 1 documents: with k + 1 the score is 1 whatever the embeddings.
     */
    static double recall(float[][] original, float[][] replaced) {
        int n = original.length;
        int k = NEIGHBOURS;
        if (n <= k + 1) {
            return Double.NaN;
        }
        double sum = 0;
        for (int d = 0; d < n; d++) {
            Set<Integer> a = new HashSet<>(nearest(original, d, k));
            int hits = 0;
            for (int j : nearest(replaced, d, k)) {
                hits += a.contains(j) ? 1 : 0;
            }
            sum += (double) hits / k;
        }
        return sum / n;
    }

    private static List<Integer> nearest(float[][] e, int d, int k) {
        List<Integer> others = new ArrayList<>(e.length - 1);
        double[] sim = new double[e.length];
        for (int j = 0; j < e.length; j++) {
            if (j != d) {
                others.add(j);
                sim[j] = cosine(e[d], e[j]);
            }
        }
        others.sort((x, y) -> sim[x] != sim[y] ? Double.compare(sim[y], sim[x]) : Integer.compare(x, y));
        return others.subList(0, k);
    }

    /** The cosine similarity of two vectors, in double; 0 when either is zero. */
    public static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    /**
     * The documents of a harvested split, in the order of their first row: the distinct values of the
     * {@code doc} tensors of {@code split}'s shards (file-name order), at most {@code limit}.
     *
     * @throws IllegalArgumentException when a shard has no {@code doc} tensor or it is not I32 [T]
     */
    public static List<Integer> documents(Path split, int limit) throws IOException {
        SequencedSet<Integer> docs = new LinkedHashSet<>();
        if (!Files.isDirectory(split)) {
            return List.of();
        }
        List<Path> shards;
        try (Stream<Path> s = Files.list(split)) {
            shards = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        for (Path p : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                if (!f.contains("doc")) {
                    throw new IllegalArgumentException(p + " has no 'doc' tensor: it was not harvested from text");
                }
                Tensor doc = f.tensor("doc");
                if (doc.dtype() != DType.I32 || doc.shape().length != 1) {
                    throw new IllegalArgumentException(p + ": tensor doc is " + doc + ", expected I32 [T]");
                }
                for (long i = 0; i < doc.elementCount() && docs.size() < limit; i++) {
                    docs.add(doc.data().getAtIndex(Tensor.I32_LE, i));
                }
            }
            if (docs.size() >= limit) {
                break;
            }
        }
        return List.copyOf(docs);
    }

    /**
     * The token ids of the given documents of the source's corpus, in the order given.
     *
     * @throws IllegalArgumentException when a document is not in the corpus
     */
    public static List<int[]> sequences(TextSource source, List<Integer> docs) throws IOException {
        Map<Integer, String> texts = new HashMap<>();
        int last = docs.stream().mapToInt(Integer::intValue).max().orElse(-1);
        Set<Integer> wanted = new HashSet<>(docs);
        source.corpus().forEach((index, text) -> {
            if (wanted.contains(index)) {
                texts.put(index, text);
            }
            return index < last;
        });
        List<int[]> out = new ArrayList<>(docs.size());
        for (int d : docs) {
            String text = texts.get(d);
            if (text == null) {
                throw new IllegalArgumentException("document " + d + " is not in " + source.corpus().name());
            }
            out.add(source.tokens(d, text));
        }
        return out;
    }
}
