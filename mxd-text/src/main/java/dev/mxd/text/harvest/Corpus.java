package dev.mxd.text.harvest;

import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * A text corpus of numbered documents (DESIGN §7: the Europarl lines file, a document per line, the index its
 * 0-based line number).
 */
public interface Corpus {

    /** What the corpus is and where it comes from, as a manifest records it (e.g. the file and its artifact). */
    String name();

    /**
     * Visits the documents in index order, 0, 1, 2, ..., until the visitor returns false or the corpus ends.
     *
     * @throws IOException when the corpus cannot be read
     */
    void forEach(Visitor visitor) throws IOException;

    /**
     * A corpus held in memory: document i is {@code texts.get(i)}.
     *
     * @param name what {@link #name()} returns
     */
    static Corpus of(String name, List<String> texts) {
        Objects.requireNonNull(name, "name");
        List<String> documents = List.copyOf(texts);
        return new Corpus() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void forEach(Visitor visitor) throws IOException {
                for (int i = 0; i < documents.size(); i++) {
                    if (!visitor.visit(i, documents.get(i))) {
                        return;
                    }
                }
            }
        };
    }

    /** Receives one document. */
    @FunctionalInterface
    interface Visitor {
        /**
         * @param index the document's index (0-based)
         * @param text  its text
         * @return whether to go on to the next document
         */
        boolean visit(int index, String text) throws IOException;
    }
}
