package dev.mxd.text.steer;

import dev.mxd.MxdLayer;
import dev.mxd.Steering;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.minilm.MlpHook;
import dev.mxd.text.minilm.SentenceEncoder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Steering on the real model (DESIGN §7): a trained layer spliced in place of one layer's MLP, at every position,
 * with a {@link Steering} edit applied between its two steps at every position; and the scored experiment that
 * measures how far adding an expert moves sentence embeddings toward a class's centroid against how far it moves
 * them from where they were.
 */
public final class SplicedSteering {

    private SplicedSteering() {
    }

    /**
     * A hook that replaces the MLP's output with {@code steering.steer(layer, x)} at the real tokens of a sequence,
     * where the layer was trained and where evaluation splices it ({@link EmbeddingCosine.Positions#REAL});
     * {@code [CLS]} and {@code [SEP]} keep the MLP's own output.
     *
     * @param layer I = O = the encoder's width; the caller keeps ownership and keeps it open while the hook is used
     * @throws IllegalArgumentException when an edit's expert is outside the layer's code space
     */
    public static MlpHook hook(MxdLayer layer, Steering steering) {
        Objects.requireNonNull(layer, "layer");
        steering.requireFits(layer.config());
        int w = layer.config().inputDim();
        return EmbeddingCosine.splice(EmbeddingCosine.Positions.REAL, w,
                (rows, input, output) -> System.arraycopy(steering.steer(layer, input).y(), 0, output, 0, rows * w));
    }

    /**
     * The unit-norm mean of embeddings: a class's centroid.
     *
     * @throws IllegalArgumentException for no embedding
     */
    public static float[] centroid(List<float[]> embeddings) {
        if (embeddings.isEmpty()) {
            throw new IllegalArgumentException("a centroid needs at least one embedding");
        }
        double[] sum = new double[embeddings.get(0).length];
        for (float[] e : embeddings) {
            for (int j = 0; j < sum.length; j++) {
                sum[j] += e[j];
            }
        }
        double norm = 0;
        for (double s : sum) {
            norm += s * s;
        }
        norm = Math.sqrt(norm);
        float[] c = new float[sum.length];
        for (int j = 0; j < c.length; j++) {
            c[j] = norm == 0 ? 0 : (float) (sum[j] / norm);
        }
        return c;
    }

    /**
     * One point of the trade-off: adding {@code value} to {@code expert} at every position of every steered
     * document.
     *
     * @param towardClass      mean over documents of cos(steered, centroid) − cos(unsteered, centroid): the move
     *                         toward the class (0 at value 0)
     * @param cosineToUnsteered mean over documents of cos(steered, unsteered) (1 at value 0)
     */
    public record Point(String label, int expert, float value, double towardClass, double cosineToUnsteered) {
    }

    /**
     * The sweep: for each class, its expert, each value; embeddings compared with those of the same spliced layer
     * without an edit.
     *
     * @param sequences the documents steered (token ids, special tokens included)
     * @param centroids per class, its unit centroid [width]
     * @param experts   per class, the expert (hidden unit for a TC or STC) to add
     * @param values    the values added
     * @return points in the order of {@code experts}, then {@code values}
     * @throws IllegalArgumentException when a class has an expert but no centroid, or an expert is out of range
     */
    public static List<Point> sweep(SentenceEncoder encoder, int layer, MxdLayer model, List<int[]> sequences,
                                    Map<String, float[]> centroids, Map<String, Integer> experts, float[] values) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("the steering sweep needs at least one document to steer");
        }
        float[][] base = EmbeddingCosine.embeddings(encoder, layer, sequences, hook(model, Steering.none()));
        List<Point> points = new ArrayList<>();
        for (Map.Entry<String, Integer> e : new LinkedHashMap<>(experts).entrySet()) {
            float[] c = centroids.get(e.getKey());
            if (c == null) {
                throw new IllegalArgumentException("class " + e.getKey() + " has an expert but no centroid");
            }
            for (float v : values) {
                float[][] steered = v == 0 ? base : EmbeddingCosine.embeddings(encoder, layer, sequences,
                        hook(model, Steering.none().add(e.getValue(), v)));
                double toward = 0, kept = 0;
                for (int d = 0; d < base.length; d++) {
                    toward += EmbeddingCosine.cosine(steered[d], c) - EmbeddingCosine.cosine(base[d], c);
                    kept += EmbeddingCosine.cosine(steered[d], base[d]);
                }
                points.add(new Point(e.getKey(), e.getValue(), v, toward / base.length, kept / base.length));
            }
        }
        return points;
    }
}
