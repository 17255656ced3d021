package dev.mxd.text.probe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backends;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.Tensor;
import dev.mxd.text.harvest.FakeText;
import dev.mxd.text.harvest.Harvester;
import dev.mxd.train.ActivationDirectory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PooledCodesTest {
    @TempDir
    Path tmp;

    private Path harvest() throws IOException {
        Path out = tmp.resolve("acts");
        // shards of 50 rows: documents cross shard boundaries
        Harvester.harvest(FakeText.source(60, 24), new Harvester.Settings(1, 700, 3, 0.25, 50), out, false, null);
        return out;
    }

    private static MxdConfig config(String kind) {
        return switch (kind) {
            case "mxd" -> MxdConfig.mxd(FakeText.WIDTH, 12, 37, FakeText.WIDTH, 5, Activation.GELU, false, false);
            case "tc" -> MxdConfig.transcoder(FakeText.WIDTH, 41, FakeText.WIDTH, 5, Activation.GELU, false);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** The brute force: every row encoded alone, summed per document in double from the doc tensors. */
    @ParameterizedTest
    @ValueSource(strings = {"mxd", "tc"})
    void equalsTheMeanOfEachDocumentsTokensEncodedOneByOne(String kind) throws IOException {
        Path dir = harvest();
        try (MxdModel model = MxdModel.random(config(kind), 9);
             MxdLayer layer = Backends.select("cpu").load(model);
             ActivationDirectory data = ActivationDirectory.open(dir)) {
            PooledCodes pooled = PooledCodes.encode(layer, data);
            Map<Integer, TreeMap<Integer, Double>> sums = new TreeMap<>();
            Map<Integer, Integer> counts = new TreeMap<>();
            for (String split : new String[] {"train", "eval"}) {
                for (Path p : shards(dir.resolve(split))) {
                    try (SafetensorsFile f = SafetensorsFile.open(p)) {
                        Tensor doc = f.tensor("doc"), x = f.tensor("x");
                        for (long r = 0; r < doc.elementCount(); r++) {
                            int d = doc.data().getAtIndex(Tensor.I32_LE, r);
                            float[] row = new float[FakeText.WIDTH];
                            MemorySegment.copy(x.data(), Tensor.F32_LE, r * FakeText.WIDTH * 4, row, 0, FakeText.WIDTH);
                            Codes c = layer.encode(row);
                            counts.merge(d, 1, Integer::sum);
                            for (int j = 0; j < c.width(); j++) {
                                if (c.value(0, j) != 0) {
                                    sums.computeIfAbsent(d, k -> new TreeMap<>()).merge(c.index(0, j),
                                            (double) c.value(0, j), Double::sum);
                                }
                            }
                        }
                    }
                }
            }
            assertEquals(counts.keySet(), pooled.documents().keySet());
            assertEquals(model.config().codeSpace(), pooled.codeSpace());
            for (int d : counts.keySet()) {
                PooledCodes.Vector v = pooled.documents().get(d);
                TreeMap<Integer, Double> s = sums.getOrDefault(d, new TreeMap<>());
                s.values().removeIf(x -> x == 0);
                assertArrayEquals(s.keySet().stream().mapToInt(Integer::intValue).toArray(), v.index(), "doc " + d);
                assertEquals(counts.get(d), v.tokens());
                for (Map.Entry<Integer, Double> e : s.entrySet()) {
                    assertEquals(e.getValue() / counts.get(d), v.get(e.getKey()), 1e-6, "doc " + d + " code " + e.getKey());
                }
            }
            assertTrue(counts.size() > 10);
        }
    }

    @Test
    void aModelOfAnotherWidthIsRejected() throws IOException {
        Path dir = harvest();
        MxdConfig wide = MxdConfig.mxd(FakeText.WIDTH + 1, 12, 37, FakeText.WIDTH, 5, Activation.GELU, false, false);
        try (MxdModel model = MxdModel.random(wide, 9);
             MxdLayer layer = Backends.select("cpu").load(model);
             ActivationDirectory data = ActivationDirectory.open(dir)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PooledCodes.encode(layer, data));
            assertTrue(e.getMessage().contains("d_in = 9"), e.getMessage());
        }
    }

    private static List<Path> shards(Path split) throws IOException {
        try (Stream<Path> s = Files.list(split)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }
}
