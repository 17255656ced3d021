package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.Backends;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.TextSources;
import dev.mxd.text.eval.EmbeddingCosine;
import dev.mxd.text.harvest.FakeText;
import dev.mxd.text.harvest.TextSource;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code demo}, {@code harvest} and {@code eval}'s embedding cosine in-process, on the small stand-in model. */
class DemoCommandTest {
    private static final int DOCS = 300, MAX = 24;

    @TempDir
    Path tmp;

    /** The stand-in model under a name. */
    private static TextSources fake(String name) {
        return TextSources.of(name, () -> {
            TextSource s = FakeText.source(DOCS, MAX);
            return new TextSource(name, s.encoder(), s.tokenizer(), s.maxTokens(), s.corpus(), null);
        });
    }

    private static String run(Callable<Integer> command, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out, true));
        cli.setExecutionExceptionHandler((ex, c, parsed) -> {
            throw ex;
        });
        assertEquals(0, cli.execute(args), out.toString());
        return out.toString();
    }

    @Test
    void demoWritesTableResultsPlotAndModelsAndReusesItsHarvest() throws Exception {
        Path out = tmp.resolve("demo");
        String[] args = {"--out", out.toString(), "--tokens", "3000", "--k", "2,4", "--layer", "1", "--batch", "128",
                "--cosine-docs", "12", "--backend", "cpu"};
        String log = run(new DemoCommand(fake(FakeText.MODEL)), args);
        assertTrue(log.contains("mxd harvest: " + FakeText.MODEL + " layer 1"), log);
        for (String line : new String[] {"   K  kind       params       FVU      NMSE       L0   dead %   emb. cos",
                "K = 2: lowest FVU", "K = 4: lowest FVU", " %; ", "results.json", "frontier.png",
                DemoCommand.PAPER_COMMAND, "recall@10"}) {
            assertTrue(log.contains(line), line + " in\n" + log);
        }

        JsonNode rows = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertTrue(rows.isArray());
        assertEquals(6, rows.size());
        Set<String> seen = new HashSet<>();
        for (JsonNode r : rows) {
            for (String key : new String[] {"kind", "k", "params", "fvu", "nmse", "l0", "dead_fraction",
                    "embedding_cosine", "fvu_sd", "seeds", "dense_fraction", "l2_ratio", "relative_reconstruction_bias",
                    "cosine_replaced", "cosine_zero_ablation", "cosine_mean_ablation", "score_zero_ablation",
                    "score_mean_ablation", "recall_at_10", "documents"}) {
                assertTrue(r.has(key), key + " in " + r);
            }
            assertEquals(1, r.get("seeds").asInt());
            assertTrue(r.get("fvu_sd").isNull(), "one seed: no spread");
            assertEquals(r.get("embedding_cosine").asDouble(), r.get("cosine_replaced").asDouble(), 0);
            assertEquals(12, r.get("documents").asInt());
            assertEquals("real", r.get("splice").asText());
            String kind = r.get("kind").asText();
            int k = r.get("k").asInt();
            seen.add(kind + k);
            assertTrue(r.get("fvu").isNumber() && r.get("fvu").asDouble() > 0, r.toString());
            assertTrue(r.get("l0").asDouble() > 0 && r.get("l0").asDouble() <= k, r.toString());
            double cos = r.get("embedding_cosine").asDouble();
            assertTrue(cos > 0 && cos <= 1 + 1e-9, r.toString());
            Path model = out.resolve("models").resolve(kind + "-k" + k);
            assertTrue(Files.isRegularFile(model.resolve("mxd.safetensors")) && Files.isRegularFile(model.resolve("cfg.json")));
            try (MxdModel m = ModelFiles.load(model)) {
                assertEquals(r.get("params").asLong(), m.config().parameterCount());
                assertEquals(k, m.config().k());
            }
        }
        assertEquals(Set.of("mxd2", "tc2", "stc2", "mxd4", "tc4", "stc4"), seen);
        // equal parameters: the MxD within one expert's worth of the TC
        long mxd = rows.get(0).get("params").asLong(), tc = rows.get(1).get("params").asLong();
        assertTrue(Math.abs(mxd - tc) <= 2 * FakeText.WIDTH + 1, mxd + " vs " + tc);

        byte[] png = Files.readAllBytes(out.resolve("frontier.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, java.util.Arrays.copyOf(png, 8));
        BufferedImage image = ImageIO.read(out.resolve("frontier.png").toFile());
        assertNotNull(image);
        assertEquals(1000, image.getWidth());
        assertEquals(760, image.getHeight());

        String manifest = Files.readString(out.resolve("activations/manifest.json"));
        String results = Files.readString(out.resolve("results.json"));
        String again = run(new DemoCommand(fake(FakeText.MODEL)), args);
        assertTrue(again.contains("mxd demo: reusing"), again);
        assertTrue(again.contains("seed 42: reusing") && !again.contains("mxd train:"), "finished models are reused: "
                + again);
        assertEquals(results.replaceAll("\"train_seconds\" : [0-9.E-]+", ""),
                Files.readString(out.resolve("results.json")).replaceAll("\"train_seconds\" : [0-9.E-]+", ""));
        assertFalse(again.contains("mxd harvest:"), again);
        assertEquals(manifest, Files.readString(out.resolve("activations/manifest.json")));
        String other = run(new DemoCommand(fake(FakeText.MODEL)), "--out", out.toString(), "--tokens", "2000", "--k", "2",
                "--kinds", "tc", "--layer", "1", "--batch", "128", "--cosine-docs", "0", "--backend", "cpu");
        assertTrue(other.contains("mxd harvest:"), "another size harvests again: " + other);
        JsonNode one = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(1, one.size());
        assertTrue(one.get(0).get("embedding_cosine").isNull(), "not measured: null");
    }

    @Test
    void verdictsNameTheLowestFvuAndCallNearTiesTies() {
        List<DemoResults.Row> rows = List.of(row(dev.mxd.Kind.MXD, 8, 0.2), row(dev.mxd.Kind.TC, 8, 0.3),
                row(dev.mxd.Kind.STC, 8, 0.25), row(dev.mxd.Kind.MXD, 16, 0.2), row(dev.mxd.Kind.STC, 16, 0.201),
                row(dev.mxd.Kind.MXD, 32, 0.3), row(dev.mxd.Kind.TC, 32, 0.2), row(dev.mxd.Kind.TC, 64, 0.2));
        String v = DemoResults.verdicts(rows);
        assertTrue(v.contains("K = 8: lowest FVU MXD 0.2000; STC +25.0 %; TC +50.0 % (MxD lowest)"), v);
        assertTrue(v.contains("K = 16: lowest FVU MXD 0.2000; STC +0.5 % (MxD within 1 % of another kind: a tie"), v);
        assertTrue(v.contains("K = 32: lowest FVU TC 0.2000; MXD +50.0 % (MxD not lowest)"), v);
        assertFalse(v.contains("K = 64"), "no MxD at K = 64: " + v);
    }

    private static DemoResults.Row row(dev.mxd.Kind kind, int k, double fvu) {
        return new DemoResults.Row(kind, k, 100, 1, fvu, Double.NaN, List.of(java.util.Map.of("fvu", fvu)), 1,
                Path.of("m"));
    }

    private static DemoResults.Row seeded(dev.mxd.Kind kind, int k, double fvu, double sd) {
        return new DemoResults.Row(kind, k, 100, 3, fvu, sd, List.of(java.util.Map.of("fvu", fvu)), 1, Path.of("m"));
    }

    @Test
    void withSeedsAWinNeedsTheGapToExceedTheSpread() {
        String v = DemoResults.verdicts(List.of(seeded(dev.mxd.Kind.MXD, 8, 0.20, 0.01), seeded(dev.mxd.Kind.STC, 8, 0.25, 0.02),
                seeded(dev.mxd.Kind.MXD, 16, 0.20, 0.01), seeded(dev.mxd.Kind.STC, 16, 0.215, 0.01),
                seeded(dev.mxd.Kind.STC, 32, 0.20, 0.001), seeded(dev.mxd.Kind.MXD, 32, 0.21, 0.002)));
        assertTrue(v.contains("K = 8: lowest FVU MXD 0.2000 ± 0.0100; STC 0.2500 ± 0.0200 (+25.0 %) (MXD wins"), v);
        assertTrue(v.contains("K = 16: lowest FVU MXD 0.2000 ± 0.0100; STC 0.2150 ± 0.0100 (+7.5 %) (tie"), v);
        assertTrue(v.contains("K = 32: lowest FVU STC 0.2000 ± 0.0010; MXD 0.2100 ± 0.0020 (+5.0 %) (STC wins"), v);
        assertEquals(Math.sqrt(1.0 / 3), DemoResults.sd(new double[] {1, 2, 2}), 1e-15);
        assertTrue(Double.isNaN(DemoResults.sd(new double[] {1})));
    }

    @Test
    void seedsGiveMeanAndSpreadAndSlicedRunsEndOnTheSameModels() throws Exception {
        String[] common = {"--tokens", "2000", "--k", "3", "--kinds", "mxd,tc", "--layer", "1", "--batch", "100",
                "--cosine-docs", "6", "--backend", "cpu", "--seeds", "2"};
        Path whole = tmp.resolve("whole");
        String log = run(new DemoCommand(fake(FakeText.MODEL)), concat(common, "--out", whole.toString()));
        assertTrue(log.contains("± sd") && log.contains("K = 3: lowest FVU"), log);
        JsonNode rows = new ObjectMapper().readTree(whole.resolve("results.json").toFile());
        assertEquals(2, rows.size());
        for (JsonNode r : rows) {
            String name = r.get("kind").asText() + "-k3";
            double a = new ObjectMapper().readTree(whole.resolve("models").resolve(name).resolve("eval.json").toFile())
                    .get("fvu").asDouble();
            double b = new ObjectMapper().readTree(whole.resolve("models").resolve(name + "-seed43").resolve("eval.json")
                    .toFile()).get("fvu").asDouble();
            assertTrue(a != b, "two seeds, two models");
            assertEquals(2, r.get("seeds").asInt());
            assertEquals((a + b) / 2, r.get("fvu").asDouble(), 1e-12);
            assertEquals(Math.abs(a - b) / Math.sqrt(2), r.get("fvu_sd").asDouble(), 1e-12);
        }
        // the same run in slices of 4 steps (an MxD of 2 seeds × 18 steps, then the TC's): several invocations
        Path sliced = tmp.resolve("sliced");
        int invocations = 0;
        String last;
        do {
            last = run(new DemoCommand(fake(FakeText.MODEL)), concat(common, "--out", sliced.toString(),
                    "--slice-steps", "4"));
            invocations++;
            assertTrue(invocations < 40, last);
        } while (last.contains("stopped after a slice"));
        assertTrue(invocations > 3, "sliced: " + invocations);
        JsonNode slicedRows = new ObjectMapper().readTree(sliced.resolve("results.json").toFile());
        for (int i = 0; i < rows.size(); i++) {
            for (String key : new String[] {"fvu", "fvu_sd", "nmse", "l0", "cosine_replaced", "recall_at_10"}) {
                assertEquals(rows.get(i).get(key).asDouble(), slicedRows.get(i).get(key).asDouble(), 0,
                        key + " of " + rows.get(i).get("kind"));
            }
        }
        assertFalse(Files.exists(sliced.resolve("models/mxd-k3/checkpoint.safetensors")), "removed when finished");
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void evalReportsTheEmbeddingCosineOnlyForTheHarvestedModel() throws Exception {
        Path acts = tmp.resolve("acts");
        run(new HarvestCommand(fake(FakeText.MODEL)), "--layer", "0", "--tokens", "1500", "--out", acts.toString(),
                "--seed", "3");
        Path model = tmp.resolve("tc");
        run(new TrainCommand(), "--data", acts.toString(), "--kind", "tc", "--k", "3", "--out", model.toString(),
                "--batch", "100", "--backend", "cpu");

        String json = run(new EvalCommand(fake(FakeText.MODEL)), "--model", model.toString(), "--data", acts.toString(),
                "--json", "--cosine-docs", "5", "--backend", "cpu");
        JsonNode o = new ObjectMapper().readTree(json);
        assertEquals(5, o.get("cosine_documents").asInt());
        List<Integer> docs = EmbeddingCosine.documents(acts.resolve("eval"), 5);
        try (TextSource source = FakeText.source(DOCS, MAX);
             MxdModel m = ModelFiles.load(model);
             MxdLayer layer = Backends.select("cpu").load(m)) {
            double expected = new EmbeddingCosine(source.encoder(), 0, EmbeddingCosine.sequences(source, docs))
                    .meanCosine(layer);
            assertEquals(expected, o.get("embedding_cosine").asDouble(), 1e-12);
            assertTrue(expected < 1, "a trained TC is not the MLP: " + expected);
        }

        String text = run(new EvalCommand(fake(FakeText.MODEL)), "--model", model.toString(), "--data", acts.toString(),
                "--cosine-docs", "5", "--backend", "cpu");
        assertTrue(text.contains("embedding cosine 0.") && text.contains("downstream (5 documents of " + FakeText.MODEL
                + ", layer 0's MLP replaced at real positions)") && text.contains("recall@10"), text);
        JsonNode d = o.get("downstream");
        for (String key : new String[] {"cosine_replaced", "cosine_zero_ablation", "cosine_mean_ablation",
                "score_zero_ablation", "score_mean_ablation", "documents", "nmse_cls", "nmse_real", "nmse_sep"}) {
            assertTrue(d.has(key) && !d.get(key).isNull(), key + " in " + d);
        }
        assertTrue(d.get("recall_at_10").isNull(), "5 documents are too few for 10 neighbours: " + d);
        assertEquals(o.get("embedding_cosine").asDouble(), d.get("cosine_replaced").asDouble(), 0);
        for (String key : new String[] {"dense_fraction", "l2_ratio", "relative_reconstruction_bias"}) {
            assertTrue(o.get(key).isNumber(), key + " in " + o);
        }
        String all = run(new EvalCommand(fake(FakeText.MODEL)), "--model", model.toString(), "--data", acts.toString(),
                "--json", "--cosine-docs", "5", "--backend", "cpu", "--splice", "all");
        assertEquals("all", new ObjectMapper().readTree(all).get("splice").asText());

        String otherModel = run(new EvalCommand(fake("another-model")), "--model", model.toString(), "--data",
                acts.toString(), "--json", "--backend", "cpu");
        assertFalse(otherModel.contains("embedding_cosine"), otherModel);
        String off = run(new EvalCommand(fake(FakeText.MODEL)), "--model", model.toString(), "--data", acts.toString(),
                "--json", "--cosine-docs", "0", "--backend", "cpu");
        assertFalse(off.contains("embedding_cosine"), off);
    }

    /** The demo ends with the experts: the probing table, three experts, one steering row, and their files. */
    @Test
    void demoEndsWithTheExpertsOfItsLargestK() throws Exception {
        Path out = tmp.resolve("demo-experts");
        String log = run(new DemoCommand(ProbeCommandTest.sources(), LinguaLabeler::new), "--out", out.toString(),
                "--tokens", "100000", "--k", "4", "--layer", "1", "--batch", "128",
                "--cosine-docs", "0");
        assertTrue(log.contains("== the experts of the K = 4 models =="), log);
        assertTrue(log.contains("Sparse probing, language identification") && log.contains("labels detected by Lingua"),
                log);
        assertTrue(log.contains("three experts of mxd-k4"), log);
        assertTrue(log.contains("Steering trade-off") && log.contains("tc-k4"), log);
        assertTrue(log.matches("(?s).*wall time .*experts .*"), log);
        JsonNode probes = new ObjectMapper().readTree(Files.readString(out.resolve("probes.json")));
        assertEquals(3, probes.get("models").size());
        assertEquals("[\"de\",\"en\",\"fr\"]", probes.get("languages").toString());
        assertTrue(Files.exists(out.resolve("steer.json")) && Files.exists(out.resolve("steer.png")));
        String off = run(new DemoCommand(ProbeCommandTest.sources(), LinguaLabeler::new), "--out", out.toString(),
                "--tokens", "100000", "--k", "4", "--layer", "1", "--batch", "128",
                "--cosine-docs", "0", "--kinds", "mxd", "--no-experts");
        assertFalse(off.contains("the experts of"), off);
    }
}
