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
        // an all-zero TC outputs exactly zero (gelu(0) = 0, no biases)
        try (MxdModel zero = MxdModel.zeros(MxdConfig.transcoder(FakeText.WIDTH, 4, FakeText.WIDTH, 2, Activation.GELU, false));
             MxdLayer l = Backends.select("reference").load(zero)) {
            assertEquals(expected, new EmbeddingCosine(enc, layer, seqs).meanCosine(l), 1e-6);
        }
        // zeroing the output through a hook gives the same
        EmbeddingCosine cos = new EmbeddingCosine(enc, layer, seqs);
        assertEquals(expected, cos.meanCosine((n, in, out) -> java.util.Arrays.fill(out, 0f)), 1e-6);
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
