package dev.mxd.text.harvest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Backends;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.Metrics;
import dev.mxd.train.ReferenceInit;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainingBackends;
import dev.mxd.train.TrainingKernels;
import dev.mxd.train.TrainingOptions;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HarvesterTest {
    private static final int DOCS = 120, MAX = 24;

    @TempDir
    Path tmp;

    private HarvestManifest harvest(Path out, long tokens, long seed, int shard) throws IOException {
        return Harvester.harvest(FakeText.source(DOCS, MAX), new Harvester.Settings(1, tokens, seed, 0.25, shard), out,
                false, null);
    }

    /** Every row of a split's shards, in order. */
    private record Rows(List<Integer> doc, List<Integer> pos, List<Integer> token, List<float[]> x, List<float[]> t) {
    }

    private static Rows rows(Path split) throws IOException {
        Rows r = new Rows(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (Path p : shards(split)) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                Tensor doc = f.tensor("doc"), pos = f.tensor("pos"), token = f.tensor("token");
                Tensor x = f.tensor("x"), t = f.tensor("t");
                assertEquals(DType.I32, doc.dtype());
                assertEquals(DType.F32, x.dtype());
                long n = doc.elementCount();
                assertTrue(x.hasShape(n, FakeText.WIDTH) && t.hasShape(n, FakeText.WIDTH) && pos.hasShape(n)
                        && token.hasShape(n), p.toString());
                for (long i = 0; i < n; i++) {
                    r.doc().add(doc.data().getAtIndex(Tensor.I32_LE, i));
                    r.pos().add(pos.data().getAtIndex(Tensor.I32_LE, i));
                    r.token().add(token.data().getAtIndex(Tensor.I32_LE, i));
                    float[] xr = new float[FakeText.WIDTH], tr = new float[FakeText.WIDTH];
                    MemorySegment.copy(x.data(), Tensor.F32_LE, i * FakeText.WIDTH * 4, xr, 0, FakeText.WIDTH);
                    MemorySegment.copy(t.data(), Tensor.F32_LE, i * FakeText.WIDTH * 4, tr, 0, FakeText.WIDTH);
                    r.x().add(xr);
                    r.t().add(tr);
                }
            }
        }
        return r;
    }

    private static List<Path> shards(Path split) throws IOException {
        try (Stream<Path> s = Files.list(split)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void sameSeedGivesTheSameFilesByteForByte() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b"), c = tmp.resolve("c");
        harvest(a, 1000, 5, 64);
        harvest(b, 1000, 5, 64);
        harvest(c, 1000, 6, 64);
        for (String split : new String[] {"train", "eval"}) {
            List<Path> sa = shards(a.resolve(split)), sb = shards(b.resolve(split));
            assertEquals(sa.stream().map(Path::getFileName).toList(), sb.stream().map(Path::getFileName).toList());
            assertTrue(sa.size() > 1, "several shards of 64 rows");
            for (int i = 0; i < sa.size(); i++) {
                assertArrayEquals(Files.readAllBytes(sa.get(i)), Files.readAllBytes(sb.get(i)), sa.get(i).toString());
            }
        }
        assertEquals(Files.readString(a.resolve("manifest.json")), Files.readString(b.resolve("manifest.json")));
        assertNotEquals(new HashSet<>(rows(a.resolve("eval")).doc()), new HashSet<>(rows(c.resolve("eval")).doc()),
                "another seed splits the documents differently");
    }

    @Test
    void withSpecialTokensEveryPositionOfTheSameDocumentsIsKept() throws IOException {
        Path real = tmp.resolve("real"), all = tmp.resolve("all");
        HarvestManifest mr = harvest(real, 100_000, 3, 100);   // the whole corpus: both see every document
        HarvestManifest ma = Harvester.harvest(FakeText.source(DOCS, MAX),
                new Harvester.Settings(1, 100_000, 3, 0.25, 100, true), all, false, null);
        assertFalse(mr.specialTokens());
        assertTrue(ma.specialTokens());
        assertEquals(mr.trainDocuments(), ma.trainDocuments());
        assertEquals(mr.trainTokens() + 2L * mr.trainDocuments(), ma.trainTokens(), "two more rows per document");
        assertEquals(ma, HarvestManifest.read(all));
        assertTrue(Files.readString(all.resolve("manifest.json")).contains("\"special_tokens\": true"));
        Rows r = rows(real.resolve("train")), a = rows(all.resolve("train"));
        IntTokenizer tok = FakeText.tokenizer(MAX);
        List<String> texts = FakeText.texts(DOCS);
        int j = 0;
        for (int i = 0; i < a.doc().size(); i++) {
            int[] ids = tok.encode(texts.get(a.doc().get(i)));
            int p = a.pos().get(i);
            assertEquals(ids[p], a.token().get(i));
            if (p == 0 || p == ids.length - 1) {
                assertEquals(p == 0 ? FakeText.CLS : FakeText.SEP, a.token().get(i));
            } else {   // the real rows are those of the default harvest, in the same order
                assertEquals(r.doc().get(j), a.doc().get(i));
                assertEquals(r.pos().get(j), p);
                assertArrayEquals(r.t().get(j), a.t().get(i));
                assertArrayEquals(r.x().get(j++), a.x().get(i));
            }
        }
        assertEquals(r.doc().size(), j);
        TextSource source = FakeText.source(DOCS, MAX);
        Harvester.Settings plain = new Harvester.Settings(1, 100_000, 3, 0.25, 100);
        assertTrue(mr.describes(source, plain) && !ma.describes(source, plain), "a cached harvest is not mistaken");
        // a manifest written before the field existed reads as real tokens only
        Files.writeString(real.resolve("manifest.json"), Files.readString(real.resolve("manifest.json"))
                .replace("\"special_tokens\": false,\n", "").replace(",\n  \"special_tokens\": false", ""));
        assertFalse(Files.readString(real.resolve("manifest.json")).contains("special_tokens"));
        assertEquals(mr, HarvestManifest.read(real));
    }

    @Test
    void splitsShareNoDocumentAndFollowTheSeededHash() throws IOException {
        Path out = tmp.resolve("acts");
        HarvestManifest m = harvest(out, 1500, 3, 100);
        Rows train = rows(out.resolve("train")), eval = rows(out.resolve("eval"));
        Set<Integer> trainDocs = new HashSet<>(train.doc()), evalDocs = new HashSet<>(eval.doc());
        assertFalse(trainDocs.isEmpty() || evalDocs.isEmpty());
        Set<Integer> both = new HashSet<>(trainDocs);
        both.retainAll(evalDocs);
        assertTrue(both.isEmpty(), "documents in both splits: " + both);
        DocumentSplit split = new DocumentSplit(3, 0.25);
        trainDocs.forEach(d -> assertFalse(split.isEval(d), "doc " + d));
        evalDocs.forEach(d -> assertTrue(split.isEval(d), "doc " + d));
        assertEquals(1500, train.doc().size() + eval.doc().size(), "exactly the tokens asked for");
        assertEquals(train.doc().size(), m.trainTokens());
        assertEquals(eval.doc().size(), m.evalTokens());
        assertEquals(trainDocs.size(), m.trainDocuments());
        assertEquals(evalDocs.size(), m.evalDocuments());
        assertFalse(m.corpusExhausted());
        assertEquals(m, HarvestManifest.read(out), "the manifest reads back");
    }

    @Test
    void provenancePointsBackToTheTokensAndActivations() throws IOException {
        Path out = tmp.resolve("acts");
        harvest(out, 900, 9, 128);
        List<String> texts = FakeText.texts(DOCS);
        IntTokenizer tok = FakeText.tokenizer(MAX);
        FakeText.Encoder enc = new FakeText.Encoder(7);
        Map<Integer, float[][]> hooked = new HashMap<>();
        int last = -1;
        for (String split : new String[] {"train", "eval"}) {
            Rows r = rows(out.resolve(split));
            for (int i = 0; i < r.doc().size(); i++) {
                int d = r.doc().get(i), p = r.pos().get(i);
                int[] ids = tok.encode(texts.get(d));
                assertTrue(p >= 1 && p <= ids.length - 2, "a real token, not [CLS] or [SEP]: pos " + p);
                assertEquals(ids[p], (int) r.token().get(i), "doc " + d + " pos " + p);
                if (i > 0 && r.doc().get(i - 1) == d) {
                    assertEquals(r.pos().get(i - 1) + 1, p, "positions run on within a document");
                }
                float[][] io = hooked.computeIfAbsent(d, k -> {
                    float[][] got = new float[2][];
                    enc.lastHiddenState(ids, 1, (n, in, o) -> {
                        got[0] = in.clone();
                        got[1] = o.clone();
                    });
                    return got;
                });
                float[] x = java.util.Arrays.copyOfRange(io[0], p * FakeText.WIDTH, (p + 1) * FakeText.WIDTH);
                float[] t = java.util.Arrays.copyOfRange(io[1], p * FakeText.WIDTH, (p + 1) * FakeText.WIDTH);
                assertArrayEquals(x, r.x().get(i), "x of doc " + d + " pos " + p);
                assertArrayEquals(t, r.t().get(i), "t of doc " + d + " pos " + p);
                last = Math.max(last, d);
            }
        }
        // every real token of every document read is there, except the tail of the last one
        long expected = 0;
        for (int d = 0; d < last; d++) {
            expected += tok.encode(texts.get(d)).length - 2;
        }
        assertTrue(expected < 900 && expected + tok.encode(texts.get(last)).length - 2 >= 900);
    }

    @Test
    void shardsReadBackThroughTheTrainerAndHoldTheMlp() throws IOException {
        Path out = tmp.resolve("acts");
        harvest(out, 2000, 1, 300);
        try (ActivationDirectory dir = ActivationDirectory.open(out)) {
            assertEquals(FakeText.WIDTH, dir.inputDim());
            assertEquals(FakeText.WIDTH, dir.outputDim());
            Rows train = rows(out.resolve("train"));
            assertEquals(train.doc().size(), dir.train().tokens());
            float[] x = new float[FakeText.WIDTH], t = new float[FakeText.WIDTH];
            dir.train().read(777, 1, x, t, 0);
            assertArrayEquals(train.x().get(777), x);
            assertArrayEquals(train.t().get(777), t);

            // The MLP itself, as a TC, reproduces t from x: x and t are that MLP's input and output.
            FakeText.Encoder enc = new FakeText.Encoder(7);
            try (MxdModel exact = enc.exactTranscoder(1);
                 MxdLayer layer = Backends.select("reference").load(exact)) {
                int n = (int) dir.eval().tokens();
                float[] ex = new float[n * FakeText.WIDTH], et = new float[n * FakeText.WIDTH];
                dir.eval().read(0, n, ex, et, 0);
                MxdLayer.Output y = layer.forward(ex);
                Metrics m = new Metrics(FakeText.WIDTH, FakeText.HIDDEN);
                m.add(MemorySegment.ofArray(y.y()), MemorySegment.ofArray(et), y.codes(), n);
                assertTrue(m.fvu() < 1e-10, "FVU of the exact MLP " + m.fvu());
            }

            // and training runs on the shards, lowering the loss
            MxdConfig cfg = MxdConfig.mxd(8, 32, 24, 8, 4, dev.mxd.Activation.GELU, false, false);
            TrainingOptions options = TrainingOptions.builder(128, 128 * 60).lr(1e-2).seed(2).build();
            try (MxdModel model = ReferenceInit.create(options.annotate(cfg), true, 2);
                 TrainingKernels kernels = TrainingBackends.kernels(Backends.select("cpu"), model);
                 Trainer trainer = new Trainer(kernels, dir, options, null)) {
                double before = trainer.evaluate().loss();
                trainer.run();
                double after = trainer.evaluate().loss();
                assertTrue(after < 0.7 * before, "loss " + before + " -> " + after);
            }
        }
    }

    @Test
    void failureLeavesNothingBehindAndExistingDirectoriesAreKept() throws IOException {
        TextSource good = FakeText.source(DOCS, MAX);
        FakeText.Encoder enc = new FakeText.Encoder(7);
        dev.mxd.text.minilm.SentenceEncoder failing = new dev.mxd.text.minilm.SentenceEncoder() {
            @Override
            public int width() {
                return enc.width();
            }

            @Override
            public int layers() {
                return enc.layers();
            }

            @Override
            public float[] lastHiddenState(int[] tokenIds, int layer, dev.mxd.text.minilm.MlpHook hook) {
                if (tokenIds.length > 30 - 10) {
                    throw new IllegalStateException("encoder failed");
                }
                return enc.lastHiddenState(tokenIds, layer, hook);
            }
        };
        TextSource bad = new TextSource("fake", failing, good.tokenizer(), MAX, good.corpus(), null);
        Path out = tmp.resolve("sub/acts");
        Harvester.Settings s = new Harvester.Settings(0, 1500, 1, 0.1, 100);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Harvester.harvest(bad, s, out, false, null));
        assertTrue(e.getMessage().contains("encoder failed"), e.getMessage());
        try (Stream<Path> left = Files.list(out.getParent())) {
            assertEquals(List.of(), left.toList(), "no directory, no temporary left");
        }

        Harvester.harvest(good, s, out, false, null);
        IllegalArgumentException exists = assertThrows(IllegalArgumentException.class,
                () -> Harvester.harvest(good, s, out, false, null));
        assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
        assertThrows(IllegalStateException.class, () -> Harvester.harvest(bad, s, out, true, null));
        assertEquals(1500, HarvestManifest.read(out).trainTokens() + HarvestManifest.read(out).evalTokens(),
                "a failed replacement keeps the old directory");
        HarvestManifest m = Harvester.harvest(good, new Harvester.Settings(1, 100, 1, 0.1, 100), out, true, null);
        assertEquals(m, HarvestManifest.read(out), "replaced");
        try (Stream<Path> left = Files.list(out.getParent())) {
            assertEquals(List.of(out), left.toList());
        }

        assertTrue(assertThrows(IllegalArgumentException.class, () -> Harvester.harvest(good,
                new Harvester.Settings(2, 100, 1, 0.1, 100), tmp.resolve("x"), false, null)).getMessage()
                .contains("--layer must be in 0..1"));
        assertThrows(IllegalArgumentException.class, () -> new Harvester.Settings(0, 100, 1, 1.0, 100));
        assertThrows(IllegalArgumentException.class, () -> new Harvester.Settings(0, 0, 1, 0.1, 100));
    }

    @Test
    void aShortCorpusEndsTheHarvestAndTheManifestSaysSo() throws IOException {
        Path out = tmp.resolve("acts");
        HarvestManifest m = Harvester.harvest(FakeText.source(10, MAX), new Harvester.Settings(0, 100_000, 1, 0.2, 100),
                out, false, null);
        assertTrue(m.corpusExhausted());
        assertEquals(10, m.documentsRead());
        long total = 0;
        for (String text : FakeText.texts(10)) {
            total += FakeText.tokenizer(MAX).encode(text).length - 2;
        }
        assertEquals(total, m.trainTokens() + m.evalTokens());
        assertTrue(HarvestManifest.read(out).toJson().contains("\"corpus_exhausted\": true"));
    }

    @Test
    void malformedManifestsAreNamed() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("manifest.json"), "{\"format_version\": 1, \"model\": \"x\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarvestManifest.read(dir));
        assertTrue(e.getMessage().contains("input_dim"), e.getMessage());
        Files.writeString(dir.resolve("manifest.json"), "{\"format_version\": 2}");
        e = assertThrows(IllegalArgumentException.class, () -> HarvestManifest.read(dir));
        assertTrue(e.getMessage().contains("format_version 2"), e.getMessage());
        Files.writeString(dir.resolve("manifest.json"), "[1");
        e = assertThrows(IllegalArgumentException.class, () -> HarvestManifest.read(dir));
        assertTrue(e.getMessage().contains("malformed JSON"), e.getMessage());
    }
}
