package dev.mxd.text.experts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.text.harvest.Corpus;
import dev.mxd.text.minilm.MiniLmTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The text around a firing token: cut at offsets, at most 10 tokens a side, checked against the recorded id. */
class ContextTest {
    /** Words as tokens, ids from their length, [CLS] = 1 and [SEP] = 2 with no span. */
    static final Function<String, MiniLmTokenizer.Tokens> WORDS = text -> {
        List<int[]> spans = new ArrayList<>();
        Matcher m = Pattern.compile("\\S+").matcher(text);
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        int n = spans.size() + 2;
        int[] ids = new int[n], start = new int[n], end = new int[n];
        String[] pieces = new String[n];
        ids[0] = 1;
        ids[n - 1] = 2;
        start[0] = end[0] = start[n - 1] = end[n - 1] = -1;
        pieces[0] = "[CLS]";
        pieces[n - 1] = "[SEP]";
        for (int i = 1; i < n - 1; i++) {
            start[i] = spans.get(i - 1)[0];
            end[i] = spans.get(i - 1)[1];
            pieces[i] = text.substring(start[i], end[i]).toLowerCase();
            ids[i] = 10 + end[i] - start[i];
        }
        return new MiniLmTokenizer.Tokens(ids, pieces, start, end);
    };

    @Test
    void tenTokensEachSideAsWritten() {
        StringBuilder b = new StringBuilder();
        for (int w = 0; w < 30; w++) {
            b.append(w == 0 ? "" : w % 2 == 0 ? "  " : " ").append("W").append(w);
        }
        String text = b.toString();
        MiniLmTokenizer.Tokens t = WORDS.apply(text);
        TopContexts.Context c = TopContexts.context(text, t, 15);   // position 15 is word 14
        assertEquals("W14", c.text());
        assertTrue(c.before().startsWith("W4 ") && c.before().endsWith("W13  "), c.before());
        assertTrue(c.after().startsWith(" W15  W16") && c.after().endsWith("W24"), c.after());
        assertTrue(text.contains(c.before() + c.text() + c.after()));
        TopContexts.Context first = TopContexts.context(text, t, 1);
        assertEquals("", first.before());
        assertEquals("W0", first.text());
        TopContexts.Context last = TopContexts.context(text, t, 30);
        assertEquals("", last.after());
    }

    @Test
    void aCorpusThatChangedIsAnError() throws Exception {
        Corpus corpus = Corpus.of("two documents", List.of("Alpha beta gamma", "Delta epsilon"));
        TopContexts.Example ok = new TopContexts.Example(0, 2, 14, 3f, null, null);   // "beta": id 10 + 4
        TopContexts.Example moved = new TopContexts.Example(1, 1, 99, 2f, 0.5, null);
        TopContexts one = new TopContexts(java.util.Map.of(), List.of(new TopContexts.Expert(0, 0.5, 2, List.of(ok),
                List.of())));
        TopContexts.Example filled = one.withContexts(corpus, WORDS).expert(0).examples().get(0);
        assertEquals(new TopContexts.Context("Alpha ", "beta", " gamma"), filled.context());
        TopContexts two = new TopContexts(java.util.Map.of(), List.of(new TopContexts.Expert(0, 0.5, 2, List.of(ok),
                List.of(moved))));
        assertEquals("document 1 of two documents: position 1 holds token 15 where the harvest recorded token 99; the"
                + " corpus or tokenizer is not the harvest's", assertThrows(IllegalArgumentException.class,
                () -> two.withContexts(corpus, WORDS)).getMessage());
        TopContexts missing = new TopContexts(java.util.Map.of(), List.of(new TopContexts.Expert(0, 0.5, 2,
                List.of(new TopContexts.Example(7, 1, 15, 1f, null, null)), List.of())));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> missing.withContexts(corpus, WORDS)).getMessage()
                .contains("has 0 of the 1 documents"));
    }
}
