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
import java.util.Map;
import java.util.SequencedSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * How faithfully a trained layer stands in for the MLP it approximates, measured on the model's own output (our
 * analogue of the paper's cross-entropy figure): the layer is spliced into the encoder in place of one
 * layer's MLP, at every position of the sequence, special tokens included, and the mean cosine similarity
 * between the original and the spliced sentence embeddings ({@link SentenceEncoder#sentenceEmbedding}) is
 * taken over a fixed list of documents. 1 means the splice changes no embedding's direction.
 *
 * <p>The original embeddings are computed once, at construction, so one instance measures several layers
 * against the same reference. Thread-safe once constructed if the encoder is.
 *
 * <p>The splice reads the encoder's MLP input and writes its output once per sequence; an encoder that stacks
 * sequences ({@link SentenceEncoder#lastHiddenStates}) still calls the hook per sequence.
 */
public final class EmbeddingCosine {
    /** Sequences run through the encoder together, the same groups for the original and the spliced runs. */
    private static final int GROUP = 16;

    private final SentenceEncoder encoder;
    private final int layer;
    private final List<int[]> sequences;
    private final float[][] original;

    /**
     * Runs the unmodified encoder over {@code sequences}.
     *
     * @param sequences token ids of each document, special tokens included (not copied; not to be changed)
     * @throws IllegalArgumentException for an empty list or a layer out of range
     */
    public EmbeddingCosine(SentenceEncoder encoder, int layer, List<int[]> sequences) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("the embedding cosine needs at least one document");
        }
        if (layer < 0 || layer >= encoder.layers()) {
            throw new IllegalArgumentException("layer " + layer + " is out of range 0.." + (encoder.layers() - 1));
        }
        this.encoder = encoder;
        this.layer = layer;
        this.sequences = List.copyOf(sequences);
        this.original = embed(null);
    }

    /** The number of documents averaged over. */
    public int documents() {
        return sequences.size();
    }

    /**
     * The mean cosine similarity between the original embeddings and those with {@code replacement}'s forward
     * pass in place of the MLP's output.
     *
     * @param replacement a layer with I = O = the encoder's width (the caller keeps ownership)
     * @throws IllegalArgumentException when the layer's widths are not the encoder's
     */
    public double meanCosine(MxdLayer replacement) {
        int w = encoder.width();
        if (replacement.config().inputDim() != w || replacement.config().outputDim() != w) {
            throw new IllegalArgumentException("the layer maps " + replacement.config().inputDim() + " to "
                    + replacement.config().outputDim() + " values, but the encoder's MLP maps " + w + " to " + w);
        }
        return meanCosine((n, input, output) -> {
            float[] y = replacement.forward(input.length == n * w ? input : Arrays.copyOf(input, n * w)).y();
            System.arraycopy(y, 0, output, 0, n * w);
        });
    }

    /**
     * The mean cosine similarity between the original embeddings and those computed with {@code splice} at the
     * layer's MLP.
     */
    public double meanCosine(MlpHook splice) {
        float[][] spliced = embed(splice);
        double sum = 0;
        for (int d = 0; d < original.length; d++) {
            sum += cosine(original[d], spliced[d]);
        }
        return sum / original.length;
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
