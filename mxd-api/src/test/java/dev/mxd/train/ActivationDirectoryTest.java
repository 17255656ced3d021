package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActivationDirectoryTest {
    @TempDir
    Path dir;

    /** A shard of {@code rows} rows whose values are row·10 + column (first row {@code first}). */
    static void shard(Path file, int first, int rows, int in, int out, DType dtype) throws IOException {
        Files.createDirectories(file.getParent());
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", tensor(first, rows, in, dtype));
        m.put("t", tensor(first, rows, out, dtype));
        SafetensorsWriter.write(file, m, Map.of());
    }

    private static Tensor tensor(int first, int rows, int width, DType dtype) {
        MemorySegment s = MemorySegment.ofArray(new byte[rows * width * dtype.byteSize()]);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < width; c++) {
                float v = 1 + (first + r) * 10 + c;
                long i = (long) r * width + c;
                switch (dtype) {
                    case F32 -> s.setAtIndex(Tensor.F32_LE, i, v);
                    case F16 -> s.setAtIndex(Tensor.I16_LE, i, Float.floatToFloat16(v));
                    default -> throw new IllegalArgumentException();
                }
            }
        }
        return new Tensor(dtype, new long[] {rows, width}, s);
    }

    @Test
    void readsRowsAcrossShardsAndDtypes() throws IOException {
        shard(dir.resolve("train/000.safetensors"), 0, 3, 2, 3, DType.F32);
        shard(dir.resolve("train/001.safetensors"), 3, 0, 2, 3, DType.F32);
        shard(dir.resolve("train/002.safetensors"), 3, 4, 2, 3, DType.F16);
        shard(dir.resolve("eval/000.safetensors"), 100, 2, 2, 3, DType.F32);
        Files.writeString(dir.resolve("train/README.txt"), "not a shard");
        try (ActivationDirectory d = ActivationDirectory.open(dir)) {
            assertEquals(2, d.inputDim());
            assertEquals(3, d.outputDim());
            assertEquals(7, d.train().tokens());
            assertEquals(2, d.eval().tokens());
            float[] x = new float[5 * 2], t = new float[5 * 3];
            d.train().read(1, 5, x, t, 0);
            for (int r = 0; r < 5; r++) {
                assertEquals(1 + (1 + r) * 10, x[2 * r]);
                assertEquals(1 + (1 + r) * 10 + 2, t[3 * r + 2]);
            }
            assertTrue(d.train().describe(4).endsWith("002.safetensors row 1"), d.train().describe(4));
            d.eval().read(0, 2, x, t, 1);
            assertArrayEquals(new float[] {1001, 1002, 1011, 1012}, java.util.Arrays.copyOfRange(x, 2, 6));
            assertThrows(IndexOutOfBoundsException.class, () -> d.train().read(5, 3, new float[6], new float[9], 0));
        }
    }

    @Test
    void trainsFromShardsAndNamesTheShardOfABadRow() throws IOException {
        dev.mxd.MxdConfig cfg = dev.mxd.MxdConfig.mxd(2, 4, 5, 3, 2, dev.mxd.Activation.GELU, false, false);
        shard(dir.resolve("train/000.safetensors"), 0, 20, 2, 3, DType.F32);
        shard(dir.resolve("train/001.safetensors"), 20, 13, 2, 3, DType.F16);
        shard(dir.resolve("eval/000.safetensors"), 40, 9, 2, 3, DType.F32);
        TrainingOptions options = TrainingOptions.builder(8, 8 * 6).lr(1e-3).warmupSteps(2).evaluation(3, 0).build();
        java.util.List<Long> evaluated = new java.util.ArrayList<>();
        try (ActivationDirectory d = ActivationDirectory.open(dir);
             dev.mxd.MxdModel model = ReferenceInit.create(cfg, true, 1);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, d, options, new TrainingListener() {
                 @Override
                 public void onEvaluation(long step, Metrics.Summary m) {
                     assertEquals(9, m.tokens());
                     evaluated.add(step);
                 }
             })) {
            trainer.run();
            assertEquals(java.util.List.of(3L, 6L), evaluated);
            assertEquals(48, trainer.tokens());
        }
        // a zero target row in the second shard: the error names that file and row
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", tensor(20, 13, 2, DType.F32));
        Tensor t = tensor(20, 13, 3, DType.F32);
        t.data().asSlice(4L * 3 * 4, 3 * 4).fill((byte) 0);
        m.put("t", t);
        SafetensorsWriter.write(dir.resolve("train/001.safetensors"), m, Map.of());
        try (ActivationDirectory d = ActivationDirectory.open(dir);
             dev.mxd.MxdModel model = ReferenceInit.create(cfg, true, 1);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, d, TrainingOptions.builder(8, 8 * 6).inOrder().build(), null)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, trainer::run);
            assertTrue(e.getMessage().contains("001.safetensors row 4") && e.getMessage().contains("step 4"),
                    e.getMessage());
        }
    }

    @Test
    void missingTrainingSplitIsAnError() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationDirectory.open(dir));
        assertTrue(e.getMessage().contains("train"), e.getMessage());
        Files.createDirectories(dir.resolve("train"));
        e = assertThrows(IllegalArgumentException.class, () -> ActivationDirectory.open(dir));
        assertTrue(e.getMessage().contains("no .safetensors shard"), e.getMessage());
        shard(dir.resolve("train/a.safetensors"), 0, 0, 2, 3, DType.F32);
        e = assertThrows(IllegalArgumentException.class, () -> ActivationDirectory.open(dir));
        assertTrue(e.getMessage().contains("no tokens"), e.getMessage());
    }

    @Test
    void shardsThatDisagreeAreNamed() throws IOException {
        shard(dir.resolve("train/a.safetensors"), 0, 3, 2, 3, DType.F32);
        shard(dir.resolve("train/b.safetensors"), 0, 3, 4, 3, DType.F32);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationDirectory.open(dir));
        assertTrue(e.getMessage().contains("b.safetensors") && e.getMessage().contains("I = 2"), e.getMessage());
        Files.delete(dir.resolve("train/b.safetensors"));
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", tensor(0, 3, 2, DType.F32));
        m.put("t", tensor(0, 2, 3, DType.F32));
        SafetensorsWriter.write(dir.resolve("train/c.safetensors"), m, Map.of());
        e = assertThrows(IllegalArgumentException.class, () -> ActivationDirectory.open(dir));
        assertTrue(e.getMessage().contains("c.safetensors") && e.getMessage().contains("3 rows"), e.getMessage());
        m.remove("t");
        SafetensorsWriter.write(dir.resolve("train/c.safetensors"), m, Map.of());
        e = assertThrows(IllegalArgumentException.class, () -> ActivationDirectory.open(dir));
        assertTrue(e.getMessage().contains("no tensor 't'"), e.getMessage());
    }
}
