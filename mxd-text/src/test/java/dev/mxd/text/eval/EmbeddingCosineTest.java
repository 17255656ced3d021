package dev.mxd.text.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backends;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.text.harvest.DocumentSplit;
import dev.mxd.text.harvest.FakeText;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.Harvester;
import dev.mxd.text.harvest.IntTokenizer;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.minilm.SentenceEncoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddingCosineTest {
    private static final int MAX = 24;

    @TempDir
    Path tmp;

    private static List<int[]> sequences(int docs) {
        IntTokenizer tok = FakeText.tokenizer(MAX);
        return FakeText.texts(docs).stream().map(tok::encode).filter(ids -> ids.length > 2).toList();
    }

    @Test
    void theExactMlpSplicedInChangesNothing() {
        FakeText.Encoder enc = new FakeText.Encoder(7);
        List<int[]> seqs = sequences(30);
        for (int layer = 0; layer < FakeText.LAYERS; layer++) {
            EmbeddingCosine cos = new EmbeddingCosine(enc, layer, seqs);
            assertEquals(seqs.size(), cos.documents());
            for (String backend : new String[] {"reference", "cpu"}) {
                try (MxdModel exact = enc.exactTranscoder(layer);
                     MxdLayer l = Backends.select(backend).load(exact)) {
                    assertEquals(1.0, cos.meanCosine(l), 1e-6, backend + " layer " + layer);
                }
            }
        }
    }

    @Test
    void aLayerThatOutputsZeroGivesTheCosineOfTheModelWithoutThatMlp() {
        FakeText.Encoder enc = new FakeText.Encoder(7);
        List<int[]> seqs = sequences(30);
        int layer = 1;
        double expected = 0;
        for (int[] ids : seqs) {
            float[] a = SentenceEncoder.sentenceEmbedding(enc.lastHiddenState(ids, 0, null), ids.length, FakeText.WIDTH);
            float[] b = SentenceEncoder.sentenceEmbedding(enc.withoutMlp(ids, layer), ids.length, FakeText.WIDTH);
            double dot = 0;
            for (int j = 0; j < a.length; j++) {
                dot += a[j] * b[j];      // both unit vectors
            }
            expected += dot;
        }
        expected /= seqs.size();
        assertTrue(expected < 0.999, "the MLP matters: " + expected);
        // an all-zero TC outputs exactly zero (gelu(0) = 0, no biases): spliced at every position it removes the MLP
        try (MxdModel zero = MxdModel.zeros(MxdConfig.transcoder(FakeText.WIDTH, 4, FakeText.WIDTH, 2, Activation.GELU, false));
             MxdLayer l = Backends.select("reference").load(zero)) {
            EmbeddingCosine all = new EmbeddingCosine(enc, layer, seqs, EmbeddingCosine.Positions.ALL, null);
            assertEquals(expected, all.meanCosine(l), 1e-6);
            assertEquals(expected, all.downstream(l).cosineZeroAblation(), 1e-6);
            // at the real tokens only, [CLS] and [SEP] keep the MLP: closer to the original
            double real = new EmbeddingCosine(enc, layer, seqs).meanCosine(l);
            assertTrue(real > expected + 1e-4 && real < 1, real + " vs " + expected);
        }
        // zeroing the output through a hook gives the same
        EmbeddingCosine cos = new EmbeddingCosine(enc, layer, seqs);
        assertEquals(expected, cos.meanCosine((n, in, out) -> java.util.Arrays.fill(out, 0f)), 1e-6);
    }

    @Test
    void scoresAreOneForTheExactMlpAndZeroForTheAblationsThemselves() {
        FakeText.Encoder enc = new FakeText.Encoder(7);
        List<int[]> seqs = sequences(30);
        float[] mean = new float[FakeText.WIDTH];
        for (int j = 0; j < mean.length; j++) {
            mean[j] = 0.1f * (j - 3);
        }
        for (EmbeddingCosine.Positions where : EmbeddingCosine.Positions.values()) {
            EmbeddingCosine cos = new EmbeddingCosine(enc, 1, seqs, where, mean);
            assertEquals(where, cos.positions());
            // the original MLP spliced through the same path: exactly the original embeddings
            try (MxdModel exact = enc.exactTranscoder(1);
                 MxdLayer l = Backends.select("reference").load(exact)) {
                EmbeddingCosine.Downstream d = cos.downstream(l);
                assertEquals(1.0, d.cosineReplaced(), 1e-9, where.id());
                assertEquals(1.0, d.scoreZeroAblation(), 1e-6, where.id());
                assertEquals(1.0, d.scoreMeanAblation(), 1e-6, where.id());
                assertEquals(1.0, d.recallAt10(), 0, where.id());
                assertEquals(seqs.size(), d.documents());
                EmbeddingCosine.PositionErrors e = cos.positionErrors(l);
                assertTrue(e.cls() < 1e-10 && e.real() < 1e-10 && e.sep() < 1e-10, e.toString());
                assertTrue(d.cosineZeroAblation() < 0.999 && d.cosineMeanAblation() < 0.999, d.toString());
            }
            EmbeddingCosine.Downstream zero = cos.downstream((rows, in, out) -> java.util.Arrays.fill(out, 0f));
            assertEquals(0.0, zero.scoreZeroAblation(), 0, where.id());
            assertEquals(zero.cosineZeroAblation(), zero.cosineReplaced(), 0);
            EmbeddingCosine.Downstream atMean = cos.downstream((rows, in, out) -> {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(mean, 0, out, r * FakeText.WIDTH, FakeText.WIDTH);
                }
            });
            assertEquals(0.0, atMean.scoreMeanAblation(), 0, where.id());
            assertTrue(atMean.recallAt10() < 1, "the ablation moves neighbours: " + atMean.recallAt10());
        }
        assertTrue(Double.isNaN(new EmbeddingCosine(enc, 1, seqs).downstream((rows, in, out) -> { })
                .cosineMeanAblation()), "no mean given: no mean ablation");
        assertEquals(0.5, EmbeddingCosine.score(0.9, 0.8), 1e-12);
    }

    @Test
    void recallAgainstABruteForceCount() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        int n = 25, w = 6;
        float[][] a = new float[n][w], b = new float[n][w];
        for (int d = 0; d < n; d++) {
            for (int j = 0; j < w; j++) {
                a[d][j] = (float) r.nextGaussian();
                b[d][j] = a[d][j] + (float) (0.6 * r.nextGaussian());
            }
        }
        double expected = 0;
        for (int d = 0; d < n; d++) {
            java.util.Set<Integer> na = bruteNearest(a, d, 10), nb = bruteNearest(b, d, 10);
            na.retainAll(nb);
            expected += na.size() / 10.0;
        }
        expected /= n;
        assertEquals(expected, EmbeddingCosine.recall(a, b), 1e-12);
        assertTrue(expected > 0.2 && expected < 0.95, "a case that tests something: " + expected);
        assertEquals(1.0, EmbeddingCosine.recall(a, a), 0);
        // eleven documents: every other one is a neighbour, whatever the embeddings: not a score
        assertTrue(Double.isNaN(EmbeddingCosine.recall(java.util.Arrays.copyOf(a, 11), java.util.Arrays.copyOf(b, 11))));
        assertTrue(EmbeddingCosine.recall(java.util.Arrays.copyOf(a, 12), java.util.Arrays.copyOf(b, 12)) < 1);
    }

    /** The k documents of highest cosine to d, by scanning for the maximum k times. */
    private static java.util.Set<Integer> bruteNearest(float[][] e, int d, int k) {
        java.util.Set<Integer> taken = new java.util.HashSet<>();
        for (int round = 0; round < k; round++) {
            int best = -1;
            double bestSim = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < e.length; j++) {
                double s = EmbeddingCosine.cosine(e[d], e[j]);
                if (j != d && !taken.contains(j) && s > bestSim) {
                    best = j;
                    bestSim = s;
                }
            }
            taken.add(best);
        }
        return taken;
    }

    @Test
    void badArgumentsAreNamed() {
        FakeText.Encoder enc = new FakeText.Encoder(7);
        assertThrows(IllegalArgumentException.class, () -> new EmbeddingCosine(enc, 0, List.of()));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new EmbeddingCosine(enc, 2, sequences(3)))
                .getMessage().contains("out of range"));
        try (MxdModel other = MxdModel.zeros(MxdConfig.transcoder(5, 4, 5, 2, Activation.GELU, false));
             MxdLayer l = Backends.select("reference").load(other)) {
            EmbeddingCosine cos = new EmbeddingCosine(enc, 0, sequences(3));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cos.meanCosine(l)).getMessage()
                    .contains("maps 5 to 5"));
        }
    }

    @Test
    void documentsOfASplitComeInOrderOfFirstRowAndTheirTokensFromTheCorpus() throws IOException {
        Path out = tmp.resolve("acts");
        TextSource source = FakeText.source(80, MAX);
        Harvester.harvest(source, new Harvester.Settings(0, 1200, 4, 0.3, 50), out, false, null);
        List<Integer> all = EmbeddingCosine.documents(out.resolve("eval"), Integer.MAX_VALUE);
        LinkedHashSet<Integer> expected = new LinkedHashSet<>();
        DocumentSplit split = new DocumentSplit(4, 0.3);
        IntTokenizer tok = FakeText.tokenizer(MAX);
        List<String> texts = FakeText.texts(80);
        int read = HarvestManifest.read(out).documentsRead();
        for (int d = 0; d < read; d++) {
            if (split.isEval(d) && tok.encode(texts.get(d)).length > 2) {
                expected.add(d);
            }
        }
        assertEquals(new ArrayList<>(expected), all);
        assertEquals(all.subList(0, 3), EmbeddingCosine.documents(out.resolve("eval"), 3));
        List<int[]> seqs = EmbeddingCosine.sequences(source, all.subList(0, 3));
        for (int i = 0; i < 3; i++) {
            assertEquals(java.util.Arrays.toString(tok.encode(texts.get(all.get(i)))), java.util.Arrays.toString(seqs.get(i)));
        }
        assertThrows(IllegalArgumentException.class, () -> EmbeddingCosine.sequences(source, List.of(80)));
        assertEquals(List.of(), EmbeddingCosine.documents(tmp.resolve("nothing"), 5));
    }
}
