package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.TextSources;
import dev.mxd.text.harvest.Corpus;
import dev.mxd.text.harvest.FakeText;
import dev.mxd.text.harvest.Harvester;
import dev.mxd.text.harvest.TextSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code probe} in-process on the small stand-in encoder over a corpus of English, German and French lines. */
class ProbeCommandTest {
    static final String MODEL = "fake-encoder";
    static final int MAX = 24;
    private static final String[][] LEXICONS = {
        "the parliament must vote today on this report because the commission has not answered our question about"
                .split(" "),
        "das Parlament muss heute über diesen Bericht abstimmen weil die Kommission unsere Frage nicht beantwortet hat"
                .split(" "),
        "le parlement doit voter aujourd'hui sur ce rapport parce que la commission n'a pas répondu à notre question"
                .split(" ")};

    @TempDir
    Path tmp;

    /** 240 lines, the languages in turn, each 12 to 20 words of its lexicon. */
    static List<String> lines() {
        SplittableRandom r = new SplittableRandom(3);
        List<String> out = new ArrayList<>();
        for (int d = 0; d < 240; d++) {
            String[] lex = LEXICONS[d % 3];
            StringBuilder b = new StringBuilder();
            int words = 12 + r.nextInt(9);
            for (int w = 0; w < words; w++) {
                b.append(w == 0 ? "" : " ").append(lex[r.nextInt(lex.length)]);
            }
            out.add(b.append('.').toString());
        }
        return out;
    }

    static TextSources sources() {
        Corpus corpus = Corpus.of("three-language test lines", lines());
        return TextSources.of(MODEL,
                () -> new TextSource(MODEL, new FakeText.Encoder(7), FakeText.tokenizer(MAX), MAX, corpus, null));
    }

    /** Harvests layer 1 of the stand-in on the test lines and saves a random MxD and TC of its width. */
    static List<Path> harvestAndModels(Path tmp) throws Exception {
        try (TextSource s = sources().open()) {
            Harvester.harvest(s, new Harvester.Settings(1, 100_000, 42, 0.3, 4096), tmp.resolve("acts"), false, null);
        }
        List<Path> models = new ArrayList<>();
        for (MxdConfig cfg : List.of(
                MxdConfig.mxd(FakeText.WIDTH, 16, 40, FakeText.WIDTH, 4, Activation.GELU, false, false),
                MxdConfig.transcoder(FakeText.WIDTH, 48, FakeText.WIDTH, 4, Activation.GELU, false))) {
            Path dir = tmp.resolve(cfg.kind().name().toLowerCase() + "-k4");
            try (MxdModel m = MxdModel.random(cfg, 5)) {
                ModelFiles.save(m, dir);
            }
            models.add(dir);
        }
        return models;
    }

    private static String[] args(Path data, List<Path> models, String... more) {
        List<String> a = new ArrayList<>(List.of("--data", data.toString(), "--models"));
        models.forEach(m -> a.add(m.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = new CommandLine(new ProbeCommand(sources(), LinguaLabeler::new));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((ex, c, parsed) -> {
            throw ex;
        });
        assertEquals(0, cli.execute(args), err.toString());
        return new String[] {out.toString(), err.toString()};
    }

    @Test
    void jsonHasTheShapeOfTheIssueAndTheTableNamesTheDetector() throws Exception {
        List<Path> models = harvestAndModels(tmp);
        Path data = tmp.resolve("acts");
        String[] json = run(args(data, models, "--json", "--min-docs", "3"));
        JsonNode o = new ObjectMapper().readTree(json[0]);
        assertTrue(json[0].strip().startsWith("{") && json[0].strip().endsWith("}"), "stdout is one object");
        assertEquals(List.of("labels", "languages", "models"), iterator(o.fieldNames()));
        assertTrue(o.get("labels").asText().startsWith("detected by Lingua 1.2.2"), o.get("labels").asText());
        assertEquals("[\"de\",\"en\",\"fr\"]", o.get("languages").toString());
        assertEquals(2, o.get("models").size());
        int[] spaces = {40, 48};
        for (int i = 0; i < 2; i++) {
            JsonNode m = o.get("models").get(i);
            assertEquals(List.of("model", "kind", "k", "per_language"), iterator(m.fieldNames()));
            assertEquals(i == 0 ? "mxd" : "tc", m.get("kind").asText());
            assertEquals(4, m.get("k").asInt());
            assertEquals(models.get(i).toString(), m.get("model").asText());
            assertEquals(List.of("de", "en", "fr"), iterator(m.get("per_language").fieldNames()));
            for (JsonNode lang : m.get("per_language")) {
                assertEquals(List.of("best_f1", "best_expert", "k_sparse_accuracy"), iterator(lang.fieldNames()));
                double f1 = lang.get("best_f1").asDouble();
                assertTrue(f1 >= 0 && f1 <= 1, lang.toString());
                int e = lang.get("best_expert").asInt();
                assertTrue(e >= 0 && e < spaces[i], lang.toString());
                assertEquals(List.of("1", "2", "5"), iterator(lang.get("k_sparse_accuracy").fieldNames()));
                for (JsonNode a : lang.get("k_sparse_accuracy")) {
                    assertTrue(a.asDouble() >= 0 && a.asDouble() <= 1, lang.toString());
                }
            }
        }
        assertTrue(json[1].contains("labelled confidently"), json[1]);

        String table = run(args(data, models, "--min-docs", "3"))[0];
        assertTrue(table.contains("labels detected by Lingua 1.2.2"), table);
        for (String lang : List.of("de", "en", "fr", "mean")) {
            assertTrue(table.lines().anyMatch(l -> l.startsWith(lang + " ")), lang + " row in\n" + table);
        }
        assertTrue(table.contains("mxd-k4 (mxd, K 4)") && table.contains("tc-k4 (tc, K 4)"), table);
    }

    @Test
    void badInputIsOneLineAndExitOne() throws Exception {
        List<Path> models = harvestAndModels(tmp);
        Path data = tmp.resolve("acts");
        Path wide = tmp.resolve("wide");
        try (MxdModel m = MxdModel.random(MxdConfig.mxd(FakeText.WIDTH + 3, 16, 40, FakeText.WIDTH, 4, Activation.GELU,
                false, false), 5)) {
            ModelFiles.save(m, wide);
        }
        String[] e = main(args(data, List.of(models.get(0), wide)));
        assertTrue(e[1].startsWith("mxd: " + wide + " has d_in = 11 but ") && e[1].lines().count() == 1, e[1]);
        Path bare = tmp.resolve("bare");
        Files.createDirectories(bare);
        try (Stream<Path> s = Files.list(data)) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().equals("manifest.json")) {
                    copyTree(p, bare.resolve(p.getFileName()));
                }
            }
        }
        e = main(args(bare, models));
        assertTrue(e[1].contains("has no manifest.json") && e[1].lines().count() == 1, e[1]);
        e = main(args(data, models, "--test-fraction", "1.5"));
        assertTrue(e[1].contains("test fraction must be in (0, 1)"), e[1]);
        assertFalse(e[0].contains("{"), "nothing on stdout");
    }

    /** Runs through {@link Main#run} (the real sources, unused before these errors); expects exit code 1. */
    private static String[] main(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        List<String> a = new ArrayList<>(List.of("probe"));
        a.addAll(List.of(args));
        assertEquals(1, Main.run(a.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true)),
                err.toString());
        return new String[] {out.toString(), err.toString()};
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    private static List<String> iterator(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
