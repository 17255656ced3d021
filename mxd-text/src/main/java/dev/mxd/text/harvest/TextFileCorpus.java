package dev.mxd.text.harvest;

import dev.mxd.checkpoint.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * A user's own text as a {@link Corpus} (DESIGN §7): a UTF-8 file with one document a line, or, for a name ending in
 * {@code .jsonl}, one JSON object a line whose {@code text} field is the document. A document's index is its
 * 0-based line number; empty lines (blank ones, for {@code .jsonl}) are skipped and counted, so indices keep naming
 * lines. {@link #open} reads the whole file once to check it and take its SHA-256, which the harvest manifest
 * records; {@link #forEach} checks the digest again, so a file changed since is an error, not other text.
 */
public final class TextFileCorpus implements Corpus {
    private final Path file;
    private final boolean jsonl;
    private final String sha256;
    private final int documents;
    private final int emptyLines;

    private TextFileCorpus(Path file, boolean jsonl, String sha256, int documents, int emptyLines) {
        this.file = file;
        this.jsonl = jsonl;
        this.sha256 = sha256;
        this.documents = documents;
        this.emptyLines = emptyLines;
    }

    /**
     * Opens and checks {@code file}.
     *
     * @throws IllegalArgumentException for invalid UTF-8, a {@code .jsonl} line that is not an object with a string
     *                                  {@code text} field, or a file without a document, naming the line
     */
    public static TextFileCorpus open(Path file) throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        boolean jsonl = abs.getFileName().toString().endsWith(".jsonl");
        int[] counts = new int[2];
        String digest = scan(abs, jsonl, null, counts);
        if (counts[0] == 0) {
            throw new IllegalArgumentException(file + " holds no document (" + counts[1] + " empty lines)");
        }
        return new TextFileCorpus(abs, jsonl, digest, counts[0], counts[1]);
    }

    /**
     * The corpus file a harvest manifest records, checked against its SHA-256.
     *
     * @throws IllegalArgumentException when the manifest records no corpus file, or the file has changed since
     */
    public static TextFileCorpus of(HarvestManifest m) throws IOException {
        if (m.corpusFile() == null) {
            throw new IllegalArgumentException("the harvest read " + m.corpus() + ", not a corpus file");
        }
        TextFileCorpus c = open(Path.of(m.corpusFile()));
        if (!c.sha256().equals(m.corpusSha256())) {
            throw new IllegalArgumentException(m.corpusFile() + " has changed since the harvest (sha256 " + c.sha256()
                    + ", the manifest records " + m.corpusSha256() + ")");
        }
        return c;
    }

    /** The file, absolute. */
    public Path file() {
        return file;
    }

    /** The SHA-256 of the file's bytes, lower-case hex. */
    public String sha256() {
        return sha256;
    }

    /** Documents (non-empty lines). */
    public int documents() {
        return documents;
    }

    /** Empty lines skipped. */
    public int emptyLines() {
        return emptyLines;
    }

    @Override
    public String name() {
        return file.getFileName() + " (sha256 " + sha256 + ")";
    }

    @Override
    public void forEach(Visitor visitor) throws IOException {
        String digest = scan(file, jsonl, visitor, new int[2]);
        if (digest != null && !digest.equals(sha256)) {
            throw new IllegalStateException(file + " changed while it was read (sha256 " + digest + ", was " + sha256 + ")");
        }
    }

    /**
     * Reads the file line by line, strictly as UTF-8, handing documents to {@code visitor} (when given).
     *
     * @return the file's SHA-256, or null when the visitor stopped early
     */
    private static String scan(Path file, boolean jsonl, Visitor visitor, int[] counts) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (InputStream raw = Files.newInputStream(file);
             java.security.DigestInputStream in = new java.security.DigestInputStream(raw, sha)) {
            LineBytes lines = new LineBytes(in);
            byte[] line;
            int number = 0;
            while ((line = lines.next()) != null) {
                number++;
                String text;
                try {
                    text = utf8.decode(ByteBuffer.wrap(line)).toString();
                } catch (CharacterCodingException e) {
                    throw new IllegalArgumentException(file + " line " + number + " is not valid UTF-8");
                }
                if (text.endsWith("\r")) {
                    text = text.substring(0, text.length() - 1);
                }
                if (number == 1 && text.startsWith("\uFEFF")) {
                    text = text.substring(1);   // a byte-order mark is not text
                }
                if (jsonl) {
                    if (text.isBlank()) {
                        counts[1]++;
                        continue;
                    }
                    Object parsed;
                    try {
                        parsed = Json.parse(text, file + " line " + number);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(file + " line " + number + " is not JSON");
                    }
                    if (!(parsed instanceof Map<?, ?> o) || !(o.get("text") instanceof String s)) {
                        throw new IllegalArgumentException(file + " line " + number
                                + " has no \"text\" field (a .jsonl corpus holds one {\"text\": ...} object a line)");
                    }
                    text = s;
                } else if (text.isEmpty()) {
                    counts[1]++;
                    continue;
                }
                counts[0]++;
                if (visitor != null && !visitor.visit(number - 1, text)) {
                    return null;
                }
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Lines as bytes (split at '\n'), so that invalid UTF-8 is found and named by line. */
    private static final class LineBytes {
        private final InputStream in;
        private final byte[] buffer = new byte[1 << 16];
        private int pos, end;

        LineBytes(InputStream in) {
            this.in = in;
        }

        byte[] next() throws IOException {
            java.io.ByteArrayOutputStream line = null;
            while (true) {
                if (pos == end) {
                    end = in.read(buffer);
                    pos = 0;
                    if (end <= 0) {
                        end = 0;
                        return line == null ? null : line.toByteArray();
                    }
                }
                int start = pos;
                while (pos < end && buffer[pos] != '\n') {
                    pos++;
                }
                if (line == null) {
                    line = new java.io.ByteArrayOutputStream();
                }
                line.write(buffer, start, pos - start);
                if (pos < end) {
                    pos++;   // the newline
                    return line.toByteArray();
                }
            }
        }
    }
}
