package dev.mxd.text.experts;

import dev.mxd.Codes;
import dev.mxd.MxdLayer;
import dev.mxd.text.minilm.MiniLmTokenizer;
import dev.mxd.text.minilm.SentenceEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The codes of a text's tokens on the real model (DESIGN §7): the text runs through the encoder, and the trained
 * layer encodes the MLP input of the layer it replaces at each real token ({@code [CLS]} and {@code [SEP]}, which a
 * harvest never sees, are left out).
 */
public final class TokenCodes {
    /**
     * One token's codes.
     *
     * @param id      the token id
     * @param text    the token as written in the text (its WordPiece when it has no offsets)
     * @param experts its K experts (TC, STC: hidden units), by value descending
     * @param values  their values
     */
    public record Token(int id, String text, int[] experts, float[] values) {
    }

    private TokenCodes() {
    }

    /**
     * @param encoderLayer the encoder layer whose MLP {@code layer} replaces
     * @param tokens       {@code text}'s tokens with offsets, {@code [CLS]} first and {@code [SEP]} last
     * @return one entry per real token, in order; empty when the text has none
     * @throws IllegalArgumentException when the layer's input width is not the encoder's
     */
    public static List<Token> of(SentenceEncoder encoder, int encoderLayer, MxdLayer layer, String text,
                                 MiniLmTokenizer.Tokens tokens) {
        int width = encoder.width();
        if (layer.config().inputDim() != width) {
            throw new IllegalArgumentException("the model reads x rows of " + layer.config().inputDim()
                    + " values but the encoder's width is " + width);
        }
        int n = tokens.ids().length;
        if (n <= 2) {
            return List.of();
        }
        float[] input = encoder.mlpInput(tokens.ids(), encoderLayer);
        Codes codes = layer.encode(Arrays.copyOfRange(input, width, (n - 1) * width));
        List<Token> out = new ArrayList<>(n - 2);
        for (int t = 0; t < n - 2; t++) {
            int k = codes.width();
            int[] experts = new int[k];
            float[] values = new float[k];
            for (int j = 0; j < k; j++) {
                experts[j] = codes.index(t, j);
                values[j] = codes.value(t, j);
            }
            out.add(new Token(tokens.ids()[t + 1], tokens.text(text, t + 1), experts, values));
        }
        return out;
    }
}
