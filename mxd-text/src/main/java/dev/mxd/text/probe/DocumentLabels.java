package dev.mxd.text.probe;

import dev.mxd.text.harvest.Corpus;
import java.io.IOException;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Class labels of corpus documents given by a {@link Labeler} (e.g. a language detector: the Europarl lines carry
 * no language field), for {@link SparseProbing}.
 */
public final class DocumentLabels {

    /** Labels one text, or declines when it is not confident. */
    public interface Labeler {
        /**
         * What gives the labels and when a label is kept, for every output to state (e.g. {@code "detected by
         * Lingua 1.2.2 ..."}).
         */
        String description();

        /** The text's label, or null when the labeler is not confident. */
        String label(String text);
    }

    private DocumentLabels() {
    }

    /**
     * The labels of the given documents, read from {@code corpus} in one pass.
     *
     * @return document → label, for the documents the labeler is confident about, ascending by document
     * @throws IllegalArgumentException when a document is not in the corpus
     * @throws IOException              when the corpus cannot be read
     */
    public static Map<Integer, String> label(Corpus corpus, Collection<Integer> documents, Labeler labeler)
            throws IOException {
        Objects.requireNonNull(labeler, "labeler");
        TreeSet<Integer> wanted = new TreeSet<>(documents);
        Map<Integer, String> labels = new TreeMap<>();
        if (wanted.isEmpty()) {
            return labels;
        }
        int last = wanted.last();
        TreeSet<Integer> seen = new TreeSet<>();
        corpus.forEach((index, text) -> {
            if (wanted.contains(index)) {
                seen.add(index);
                String label = labeler.label(text);
                if (label != null) {
                    labels.put(index, label);
                }
            }
            return index < last;
        });
        wanted.removeAll(seen);
        if (!wanted.isEmpty()) {
            throw new IllegalArgumentException("document " + wanted.first() + " is not in " + corpus.name()
                    + " (" + wanted.size() + " documents missing)");
        }
        return labels;
    }
}
