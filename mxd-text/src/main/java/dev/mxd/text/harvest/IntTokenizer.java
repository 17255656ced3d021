package dev.mxd.text.harvest;

/**
 * Turns text into the token ids of one sequence for a {@link dev.mxd.text.minilm.SentenceEncoder}: a
 * {@code [CLS]}-like special token first, a {@code [SEP]}-like special token last, the text's tokens between,
 * truncated to the tokenizer's maximum length, never padded. Harvesting relies on that shape: the real tokens
 * of a sequence are positions 1 .. n−2.
 */
@FunctionalInterface
public interface IntTokenizer {

    /**
     * @return the ids of one sequence, special tokens included, at least 2 long; a new array the caller owns
     */
    int[] encode(String text);
}
