package dev.mxd.text.harvest;

import dev.mxd.text.minilm.SentenceEncoder;
import java.util.Objects;

/**
 * What a harvest reads: an encoder, the tokenizer that feeds it, and the corpus it reads (DESIGN §7). The
 * model's name identifies it in a harvest's {@code manifest.json}, so that {@code ./mxd eval} finds the same
 * model again for the embedding cosine.
 *
 * <p>Ownership: the source owns {@code resources} (e.g. a native tokenizer) and releases them on
 * {@link #close()}; the encoder and corpus must not be used after that.
 *
 * @param model     the model's name (e.g. {@code all-MiniLM-L6-v2})
 * @param encoder   the transformer whose MLP is read or replaced
 * @param tokenizer text to ids, {@code [CLS] ... [SEP]}, at most {@code maxTokens} ids
 * @param maxTokens the tokenizer's maximum sequence length, special tokens included
 * @param corpus    the documents
 * @param resources released on close, or null
 */
public record TextSource(String model, SentenceEncoder encoder, IntTokenizer tokenizer, int maxTokens, Corpus corpus,
                         AutoCloseable resources) implements AutoCloseable {

    public TextSource {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(corpus, "corpus");
        if (maxTokens < 3) {
            throw new IllegalArgumentException("maxTokens must leave room for a real token between [CLS] and [SEP],"
                    + " got " + maxTokens);
        }
    }

    /**
     * The ids of a document, checked against the tokenizer's contract.
     *
     * @throws IllegalStateException when the tokenizer returns fewer than 2 or more than {@code maxTokens} ids
     */
    public int[] tokens(int doc, String text) {
        int[] ids = tokenizer.encode(text);
        if (ids.length < 2 || ids.length > maxTokens) {
            throw new IllegalStateException("the tokenizer gave " + ids.length + " ids for document " + doc
                    + "; expected 2 .. " + maxTokens + " ([CLS] and [SEP] included)");
        }
        return ids;
    }

    /**
     * The same model and tokenizer over another corpus. Both records share {@code resources}: close exactly one of
     * them.
     */
    public TextSource withCorpus(Corpus other) {
        return new TextSource(model, encoder, tokenizer, maxTokens, other, resources);
    }

    @Override
    public void close() throws Exception {
        if (resources != null) {
            resources.close();
        }
    }
}
