package dev.mxd.text.minilm;

import java.util.ArrayList;
import java.util.List;

/**
 * A transformer encoder whose per-layer MLP can be observed or replaced (DESIGN §7).
 *
 * <p>Implementations are safe to call from several threads at once unless they say otherwise.
 */
public interface SentenceEncoder {

    /** The hidden width (384 for all-MiniLM-L6-v2). */
    int width();

    /** The number of transformer layers (6 for all-MiniLM-L6-v2). */
    int layers();

    /**
     * Runs one sequence and returns the last hidden state.
     *
     * @param tokenIds the token ids of one sequence, special tokens included, no padding
     * @param layer    the layer whose MLP {@code hook} sees, 0 ≤ layer < {@link #layers()}; ignored when
     *                 {@code hook} is null
     * @param hook     called at that layer's MLP, or null
     * @return [n, width] row-major, n = {@code tokenIds.length}; a new array the caller owns
     * @throws IllegalArgumentException for an empty or over-long sequence, an id outside the vocabulary, or a
     *                                  layer out of range
     */
    float[] lastHiddenState(int[] tokenIds, int layer, MlpHook hook);

    /**
     * The input of {@code layer}'s MLP for one sequence (what an {@link MlpHook} at that layer sees as
     * {@code input}). This default runs the whole sequence; an implementation may stop at that layer.
     *
     * @return [n, width] row-major; a new array the caller owns
     * @throws IllegalArgumentException as {@link #lastHiddenState}
     */
    default float[] mlpInput(int[] tokenIds, int layer) {
        if (layer < 0 || layer >= layers()) {
            throw new IllegalArgumentException("layer " + layer + " is out of range 0.." + (layers() - 1));
        }
        float[][] input = new float[1][];
        lastHiddenState(tokenIds, layer, (n, in, out) -> input[0] = in.clone());
        return input[0];
    }

    /**
     * Runs several sequences; an implementation may stack them into larger matrix products. Each result is what
     * {@link #lastHiddenState} gives for that sequence alone, up to float rounding; the same list of sequences
     * always gives the same results. This default runs them one by one.
     *
     * @param sequences token ids per sequence, as for {@link #lastHiddenState}
     * @param hook      called once per sequence at {@code layer}'s MLP, in the order of {@code sequences}, or null
     * @return per sequence [n, width] row-major; new arrays the caller owns
     */
    default List<float[]> lastHiddenStates(List<int[]> sequences, int layer, MlpHook hook) {
        List<float[]> out = new ArrayList<>(sequences.size());
        for (int[] ids : sequences) {
            out.add(lastHiddenState(ids, layer, hook));
        }
        return out;
    }

    /**
     * The sentence embedding as the model is used: the mean of the hidden states over all n positions,
     * scaled to unit L2 norm.
     *
     * @param hidden [n, width] row-major
     * @return [width], a new array
     */
    static float[] sentenceEmbedding(float[] hidden, int tokens, int width) {
        if (tokens < 1 || hidden.length != (long) tokens * width) {
            throw new IllegalArgumentException("hidden has " + hidden.length + " values, expected " + tokens + " × "
                    + width);
        }
        double[] sum = new double[width];
        for (int i = 0; i < tokens; i++) {
            for (int j = 0; j < width; j++) {
                sum[j] += hidden[i * width + j];
            }
        }
        double norm = 0;
        for (double s : sum) {
            norm += s * s;
        }
        norm = Math.sqrt(norm);
        float[] embedding = new float[width];
        for (int j = 0; j < width; j++) {
            embedding[j] = (float) (norm == 0 ? 0 : sum[j] / norm);
        }
        return embedding;
    }
}
