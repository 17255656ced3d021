package dev.mxd.explore;

import dev.mxd.MxdLayer;
import dev.mxd.Steering;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.experts.TokenCodes;
import dev.mxd.text.minilm.MiniLmTokenizer;
import dev.mxd.text.minilm.MlpHook;
import dev.mxd.text.minilm.SentenceEncoder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * What the live page computes: a text's codes at the layer the model replaces, and a steering edit's effect on the
 * sentence embedding of the encoder with the model spliced in place of that layer's MLP (DESIGN §7).
 *
 * <p>Thread-safe when the encoder, the layer and the tokenizer function are (the tokenizer function is called under
 * this object's lock, since a native tokenizer may not be). The caller keeps ownership of the encoder, the layer and
 * whatever the tokenizer function uses, and closes them after the last call.
 */
public final class LiveModel {
    /** The nearest held-out documents listed before and after a steering edit. */
    public static final int NEAREST = 5;

    private final SentenceEncoder encoder;
    private final Function<String, MiniLmTokenizer.Tokens> tokenizer;
    private final int layer;
    private final MxdLayer model;
    private final List<Document> heldOut;

    /**
     * A held-out document and its embedding by the unmodified encoder.
     *
     * @param embedding [width], unit norm
     */
    public record Document(int doc, String text, float[] embedding) {
    }

    /**
     * A steering edit's effect.
     *
     * @param cosine the cosine of the steered embedding to the unsteered one, both with the model spliced in
     * @param before the nearest held-out documents to the unsteered embedding, nearest first, with their cosines
     * @param after  the same for the steered embedding
     */
    public record Steered(double cosine, List<Near> before, List<Near> after) {
    }

    /** A held-out document and its cosine to an embedding. */
    public record Near(int doc, String text, double cosine) {
    }

    /**
     * @param tokenizer text to tokens, at most the encoder's positions
     * @param layer     the layer whose MLP {@code model} replaces
     * @param model     a layer mapping the encoder's width to itself
     * @param heldOut   the documents searched for the nearest, their embeddings of the encoder's width
     * @throws IllegalArgumentException when the widths disagree or the layer is out of range
     */
    public LiveModel(SentenceEncoder encoder, Function<String, MiniLmTokenizer.Tokens> tokenizer, int layer,
                     MxdLayer model, List<Document> heldOut) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.model = Objects.requireNonNull(model, "model");
        int w = encoder.width();
        if (model.config().inputDim() != w || model.config().outputDim() != w) {
            throw new IllegalArgumentException("the model maps " + model.config().inputDim() + " to "
                    + model.config().outputDim() + " values, but the encoder's MLP maps " + w + " to " + w);
        }
        if (layer < 0 || layer >= encoder.layers()) {
            throw new IllegalArgumentException("layer " + layer + " is out of range 0.." + (encoder.layers() - 1));
        }
        for (Document d : heldOut) {
            if (d.embedding().length != w) {
                throw new IllegalArgumentException("held-out document " + d.doc() + " has an embedding of "
                        + d.embedding().length + " values, the encoder's width is " + w);
            }
        }
        this.layer = layer;
        this.heldOut = List.copyOf(heldOut);
    }

    /** The layer whose MLP the model replaces. */
    public int layer() {
        return layer;
    }

    /** The experts (for a TC or STC: hidden units) a steering edit may name, [0, N). */
    public int experts() {
        return model.config().codeSpace();
    }

    /** The held-out documents searched. */
    public int heldOutDocuments() {
        return heldOut.size();
    }

    /**
     * Each real token's codes ({@link TokenCodes}): the encoder runs the text to {@link #layer()}'s MLP input and the
     * model encodes it.
     *
     * @throws IllegalArgumentException for a text that gives no token
     */
    public List<TokenCodes.Token> codes(String text) {
        MiniLmTokenizer.Tokens t = tokens(text);
        return TokenCodes.of(encoder, layer, model, text, t);
    }

    /**
     * Runs the text twice with the model spliced in place of the layer's MLP, once as it is and once with
     * {@code expert}'s code edited at every token ({@link Steering}), and compares the two sentence embeddings.
     *
     * @throws IllegalArgumentException for an expert outside [0, N), a non-finite value or a text without a token
     */
    public Steered steer(String text, int expert, float value, Steering.Mode mode) {
        Objects.requireNonNull(mode, "mode");
        if (expert < 0 || expert >= experts()) {
            throw new IllegalArgumentException("expert " + expert + " is out of range: the model has experts 0 to "
                    + (experts() - 1));
        }
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException("the steering value must be finite, got " + value);
        }
        int[] ids = tokens(text).ids();
        int w = encoder.width();
        Steering edit = Steering.none().with(new Steering.Edit(expert, value, mode));
        // Both runs in one call (the encoder stacks them); the hook sees the unsteered sequence first.
        int[] calls = {0};
        MlpHook splice = EmbeddingCosine.splice(EmbeddingCosine.Positions.REAL, w, (rows, in, out) -> {
            float[] y = (calls[0]++ == 1 ? edit : Steering.none()).steer(model, in).y();
            System.arraycopy(y, 0, out, 0, rows * w);
        });
        List<float[]> hidden = encoder.lastHiddenStates(List.of(ids, ids), layer, splice);
        float[] plain = SentenceEncoder.sentenceEmbedding(hidden.get(0), ids.length, w);
        float[] steered = SentenceEncoder.sentenceEmbedding(hidden.get(1), ids.length, w);
        return new Steered(EmbeddingCosine.cosine(plain, steered), nearest(plain), nearest(steered));
    }

    private MiniLmTokenizer.Tokens tokens(String text) {
        Objects.requireNonNull(text, "text");
        if (text.isBlank()) {
            throw new IllegalArgumentException("the text is empty");
        }
        MiniLmTokenizer.Tokens t;
        synchronized (this) {
            t = tokenizer.apply(text);
        }
        if (t.ids().length < 1) {
            throw new IllegalArgumentException("the text gives no token");
        }
        return t;
    }

    private List<Near> nearest(float[] embedding) {
        List<Near> all = new ArrayList<>(heldOut.size());
        for (Document d : heldOut) {
            all.add(new Near(d.doc(), d.text(), EmbeddingCosine.cosine(embedding, d.embedding())));
        }
        all.sort(Comparator.comparingDouble(Near::cosine).reversed().thenComparingInt(Near::doc));
        return List.copyOf(all.subList(0, Math.min(NEAREST, all.size())));
    }

    /**
     * Embeds documents with the unmodified encoder, in groups of 16 sequences.
     *
     * @param docs  the documents' indices
     * @param texts their texts, in the same order
     */
    public static List<Document> embed(SentenceEncoder encoder, Function<String, MiniLmTokenizer.Tokens> tokenizer,
                                       List<Integer> docs, List<String> texts) {
        if (docs.size() != texts.size()) {
            throw new IllegalArgumentException(docs.size() + " documents but " + texts.size() + " texts");
        }
        List<Document> out = new ArrayList<>(docs.size());
        for (int from = 0; from < docs.size(); from += 16) {
            int to = Math.min(docs.size(), from + 16);
            List<int[]> ids = new ArrayList<>(to - from);
            for (int d = from; d < to; d++) {
                ids.add(tokenizer.apply(texts.get(d)).ids());
            }
            List<float[]> hidden = encoder.lastHiddenStates(ids, 0, null);
            for (int d = from; d < to; d++) {
                float[] e = SentenceEncoder.sentenceEmbedding(hidden.get(d - from), ids.get(d - from).length,
                        encoder.width());
                out.add(new Document(docs.get(d), texts.get(d), e));
            }
        }
        return out;
    }
}
