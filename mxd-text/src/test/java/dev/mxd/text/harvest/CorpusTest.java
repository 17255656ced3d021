package dev.mxd.text.harvest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The corpus held in memory ({@link Corpus#of}). */
class CorpusTest {

    @Test
    void aCorpusInMemoryVisitsItsTextsInOrderUntilTheVisitorStops() throws Exception {
        List<String> texts = new ArrayList<>(List.of("first", "", "third"));
        Corpus corpus = Corpus.of("three", texts);
        texts.set(0, "changed later");
        assertEquals("three", corpus.name());
        List<String> seen = new ArrayList<>();
        corpus.forEach((i, text) -> seen.add(i + ":" + text));
        assertEquals(List.of("0:first", "1:", "2:third"), seen, "every document, by index, as given when made");
        seen.clear();
        corpus.forEach((i, text) -> {
            seen.add(i + ":" + text);
            return i < 1;
        });
        assertEquals(List.of("0:first", "1:"), seen, "none after the visitor returns false");
    }
}
