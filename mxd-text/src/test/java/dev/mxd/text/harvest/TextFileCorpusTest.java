package dev.mxd.text.harvest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A user's text file as a corpus: documents by line number, empty lines skipped and counted, bad lines named. */
class TextFileCorpusTest {
    @TempDir
    Path dir;

    private static List<String> read(Corpus c) throws Exception {
        List<String> out = new ArrayList<>();
        c.forEach((index, text) -> out.add(index + ":" + text));
        return out;
    }

    @Test
    void linesAreDocumentsNumberedByLine() throws Exception {
        Path f = dir.resolve("c.txt");
        byte[] bytes = "\uFEFFfirst\r\n\nΕλληνικά <b>x</b>\n\n东京 😀".getBytes(StandardCharsets.UTF_8);
        Files.write(f, bytes);
        TextFileCorpus c = TextFileCorpus.open(f);
        assertEquals(List.of("0:first", "2:Ελληνικά <b>x</b>", "4:东京 😀"), read(c));
        assertEquals(3, c.documents());
        assertEquals(2, c.emptyLines());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)), c.sha256());
        assertTrue(c.name().startsWith("c.txt (sha256 "), c.name());
        List<String> first = new ArrayList<>();
        c.forEach((index, text) -> first.add(text) && false);
        assertEquals(List.of("first"), first, "the visitor stops the read");
    }

    @Test
    void jsonlTakesTheTextField() throws Exception {
        Path f = dir.resolve("c.jsonl");
        Files.writeString(f, "{\"text\": \"one\", \"id\": 1}\n   \n{\"text\": \"two\\nlines\"}\n");
        TextFileCorpus c = TextFileCorpus.open(f);
        assertEquals(List.of("0:one", "2:two\nlines"), read(c));
        assertEquals(1, c.emptyLines());
    }

    @Test
    void badFilesAreNamedByLine() throws Exception {
        Path noText = dir.resolve("a.jsonl");
        Files.writeString(noText, "{\"text\": \"one\"}\n[1, 2]\n");
        assertEquals(noText.toAbsolutePath().normalize() + " line 2 has no \"text\" field (a .jsonl corpus holds one"
                + " {\"text\": ...} object a line)", assertThrows(IllegalArgumentException.class,
                () -> TextFileCorpus.open(noText)).getMessage());
        Path notJson = dir.resolve("b.jsonl");
        Files.writeString(notJson, "{\"text\": \"one\"}\n{\"text\": \n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TextFileCorpus.open(notJson)).getMessage()
                .endsWith("b.jsonl line 2 is not JSON"));
        Path latin1 = dir.resolve("c.txt");
        Files.write(latin1, new byte[] {'a', '\n', 'b', (byte) 0xE9, '\n'});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TextFileCorpus.open(latin1)).getMessage()
                .endsWith("c.txt line 2 is not valid UTF-8"));
        Path empty = dir.resolve("d.txt");
        Files.writeString(empty, "\n\n\n");
        assertEquals(empty + " holds no document (3 empty lines)",
                assertThrows(IllegalArgumentException.class, () -> TextFileCorpus.open(empty)).getMessage());
    }

    @Test
    void manifestRecordsTheFileAndAModelRecordsTheHarvest() throws Exception {
        Path f = dir.resolve("c.txt");
        Files.writeString(f, "one\ntwo\n");
        TextFileCorpus c = TextFileCorpus.open(f);
        HarvestManifest m = new HarvestManifest(HarvestManifest.FORMAT_VERSION, "all-MiniLM-L6-v2", 3, 384, c.name(), 42,
                0.1, 128, 100, 5, 2, 1, 1, 2, 65536, c.file().toString(), c.sha256(), false);
        Path data = Files.createDirectories(dir.resolve("acts"));
        m.write(data);
        HarvestManifest back = HarvestManifest.read(data);
        assertEquals(m, back);
        assertEquals(c.sha256(), TextFileCorpus.of(back).sha256());

        MxdConfig cfg = m.recordIn(MxdConfig.transcoder(384, 8, 384, 2, Activation.GELU, false), data);
        HarvestManifest.Recorded r = HarvestManifest.recordedIn(cfg);
        assertEquals(new HarvestManifest.Recorded("all-MiniLM-L6-v2", 3, c.name(), data.toAbsolutePath().normalize()), r);
        assertEquals(c.sha256(), ((Map<?, ?>) cfg.otherFields().get("harvest")).get("corpus_sha256"));
        assertNull(HarvestManifest.recordedIn(MxdConfig.transcoder(4, 8, 4, 2, Activation.GELU, false)));

        Files.writeString(f, "one\nchanged\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TextFileCorpus.of(back)).getMessage()
                .contains("has changed since the harvest"));
    }
}
