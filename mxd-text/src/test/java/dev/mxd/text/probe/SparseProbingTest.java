package dev.mxd.text.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class SparseProbingTest {
    private static final int SPACE = 300, PLANTED = 123;

    /**
     * 600 documents of three classes whose codes are noise drawn alike for every class, except that code 123 fires
     * on every document of class "b" and on no other.
     */
    private static Map<Integer, String> synthetic(Map<Integer, PooledCodes.Vector> docs) {
        SplittableRandom r = new SplittableRandom(5);
        Map<Integer, String> labels = new HashMap<>();
        String[] classes = {"a", "b", "c"};
        for (int d = 0; d < 600; d++) {
            String label = classes[d % 3];
            TreeMap<Integer, Float> codes = new TreeMap<>();
            for (int j = 0; j < 20; j++) {
                int i = r.nextInt(SPACE);
                if (i != PLANTED) {
                    codes.merge(i, (float) r.nextDouble(), Float::sum);
                }
            }
            if (label.equals("b")) {
                codes.put(PLANTED, 0.05f + (float) r.nextDouble() * 0.1f);
            }
            docs.put(d, vector(codes));
            labels.put(d, label);
        }
        return labels;
    }

    private static PooledCodes.Vector vector(TreeMap<Integer, Float> codes) {
        int[] idx = codes.keySet().stream().mapToInt(Integer::intValue).toArray();
        float[] val = new float[idx.length];
        int j = 0;
        for (float v : codes.values()) {
            val[j++] = v;
        }
        return new PooledCodes.Vector(idx, val, 1);
    }

    @Test
    void aPlantedExpertIsFoundWithF1One() {
        Map<Integer, PooledCodes.Vector> docs = new LinkedHashMap<>();
        Map<Integer, String> labels = synthetic(docs);
        List<SparseProbing.ClassResult> results = SparseProbing.run(new PooledCodes(SPACE, docs), labels,
                SparseProbing.Settings.DEFAULT);
        assertEquals(List.of("a", "b", "c"), results.stream().map(SparseProbing.ClassResult::label).toList());
        SparseProbing.ClassResult b = results.get(1);
        assertEquals(1.0, b.bestF1());
        assertEquals(PLANTED, b.bestCode());
        assertEquals(PLANTED, b.topCodes()[0]);
        assertEquals(1.0, b.kSparseAccuracy().get(1));
        assertEquals(List.of(1, 2, 5), List.copyOf(b.kSparseAccuracy().keySet()));
        assertEquals(200, b.trainDocuments() + b.testDocuments());
        // the noise classes have no such code: their probes stay far from perfect
        for (SparseProbing.ClassResult c : List.of(results.get(0), results.get(2))) {
            assertTrue(c.kSparseAccuracy().get(1) < 0.8, c.toString());
            assertEquals(SparseProbing.CANDIDATES, c.topCodes().length);
        }
    }

    @Test
    void classesWithTooFewDocumentsAreSkippedAndUnlabelledDocumentsIgnored() {
        Map<Integer, PooledCodes.Vector> docs = new LinkedHashMap<>();
        Map<Integer, String> labels = new HashMap<>(synthetic(docs));
        labels.put(0, "z");             // one document: too few for a probe
        labels.remove(3);               // an unlabelled document
        labels.put(10_000, "b");        // a labelled document without codes
        List<SparseProbing.ClassResult> results = SparseProbing.run(new PooledCodes(SPACE, docs), labels,
                SparseProbing.Settings.DEFAULT);
        assertEquals(List.of("a", "b", "c"), results.stream().map(SparseProbing.ClassResult::label).toList());
    }

    @Test
    void settingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new SparseProbing.Settings(1, 0, 5, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new SparseProbing.Settings(1, 0.3, 0, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new SparseProbing.Settings(1, 0.3, 5, new int[] {2, 1}));
        assertThrows(IllegalArgumentException.class,
                () -> new PooledCodes(10, Map.of(1, new PooledCodes.Vector(new int[] {10}, new float[] {1}, 1))));
    }
}
