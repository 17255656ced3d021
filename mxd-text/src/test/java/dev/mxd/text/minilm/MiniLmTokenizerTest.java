package dev.mxd.text.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Our ids against Hugging Face's tokenizers on the same tokenizer.json (the committed fixture). */
class MiniLmTokenizerTest {

    @Test
    void idsMatchTheReferenceTokenizer() {
        List<TokenFixture> fixtures = TokenFixture.all();
        assertTrue(fixtures.size() >= 8, "fixture documents: " + fixtures.size());
        Map<Integer, String> texts = TokenFixture.texts(fixtures);
        for (TokenFixture f : fixtures) {
            try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(f.maxTokens())) {
                int[] ids = tokenizer.encode(texts.get(f.index()));
                assertArrayEquals(f.ids(), ids, f.toString());
                assertEquals(MiniLmTokenizer.CLS, ids[0], f.toString());
                assertEquals(MiniLmTokenizer.SEP, ids[ids.length - 1], f.toString());
                assertTrue(ids.length <= f.maxTokens(), f.toString());
            }
        }
    }

    @Test
    void longTextsAreCutAtMaxTokensAndShortOnesAreNotPadded() {
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(MiniLmTokenizer.DEFAULT_MAX_TOKENS)) {
            String longText = "word ".repeat(1000);
            assertEquals(MiniLmTokenizer.DEFAULT_MAX_TOKENS, tokenizer.encode(longText).length);
            assertArrayEquals(new int[] {101, 7592, 102}, tokenizer.encode("Hello"));
            assertArrayEquals(new int[] {101, 102}, tokenizer.encode(""));
        }
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.load(300)) {
            assertEquals(300, tokenizer.encode("word ".repeat(1000)).length);
        }
    }

    @Test
    void maxTokensOutOfRangeIsRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> MiniLmTokenizer.load(1));
        assertTrue(e.getMessage().contains("maxTokens = 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MiniLmTokenizer.load(513));
    }

    /** Offsets index the Java string (UTF-16), also after a character beyond U+FFFF, and give the text as written. */
    @Test
    void tokenizeGivesOffsetsIntoTheTextAsWritten() {
        String text = "Très Bien 😀 東京 Parliament's";
        try (MiniLmTokenizer t = MiniLmTokenizer.load(MiniLmTokenizer.DEFAULT_MAX_TOKENS)) {
            MiniLmTokenizer.Tokens tokens = t.tokenize(text);
            assertArrayEquals(t.encode(text), tokens.ids());
            int n = tokens.ids().length;
            assertEquals(-1, tokens.start()[0], "[CLS] has no span");
            assertEquals(-1, tokens.start()[n - 1], "[SEP] has no span");
            StringBuilder seen = new StringBuilder();
            for (int i = 1; i < n - 1; i++) {
                seen.append(tokens.text(text, i)).append('|');
            }
            assertEquals("Très|Bien|😀|東|京|Parliament|'|s|", seen.toString());
        }
    }
}
