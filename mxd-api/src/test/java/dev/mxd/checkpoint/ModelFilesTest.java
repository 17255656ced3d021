package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ModelFilesTest {
    @TempDir
    Path dir;

    static Stream<MxdConfig> configs() {
        return Stream.of(
                MxdConfig.mxd(6, 10, 12, 5, 3, Activation.GELU, true, true),
                MxdConfig.mxd(4, 8, 7, 4, 7, Activation.RELU, false, false)
                        .withOtherFields(Map.of("lr", 4e-4, "hook", Map.of("layer", 3))),
                MxdConfig.transcoder(5, 9, 5, 2, Activation.SILU, false),
                MxdConfig.skipTranscoder(5, 9, 3, 9, Activation.SIGMOID, true));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void savedModelLoadsBackBitForBit(MxdConfig config) throws IOException {
        Path out = dir.resolve("a").resolve("b");
        try (MxdModel model = MxdModel.random(config, 7)) {
            ModelFiles.save(model, out);
            for (Path path : List.of(out, out.resolve(ModelFiles.WEIGHTS_FILE))) {
                try (MxdModel back = ModelFiles.load(path)) {
                    assertEquals(config, back.config());
                    assertEquals(List.copyOf(model.tensors().keySet()), List.copyOf(back.tensors().keySet()));
                    model.tensors().forEach((name, t) -> {
                        assertEquals(DType.F32, back.tensor(name).dtype());
                        assertArrayEquals(t.shape(), back.tensor(name).shape(), name);
                        assertEquals(-1, t.data().mismatch(back.tensor(name).data()), name);
                    });
                }
            }
        }
    }

    @Test
    void headerMetadataHoldsTheSameConfigText() throws IOException {
        try (MxdModel model = MxdModel.random(configs().findFirst().orElseThrow(), 1)) {
            ModelFiles.save(model, dir);
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(ModelFiles.WEIGHTS_FILE))) {
            assertEquals(Files.readString(dir.resolve(ConfigJson.FILE_NAME)), f.metadata().get(ModelFiles.METADATA_CFG));
            for (String name : f.names()) {
                assertEquals(DType.F32, f.tensor(name).dtype(), name);
            }
        }
    }

    @Test
    void cfgJsonWinsOverTheHeaderAndTheHeaderServesWithoutIt() throws IOException {
        MxdConfig saved = MxdConfig.mxd(4, 8, 6, 4, 2, Activation.RELU, false, false);
        try (MxdModel model = MxdModel.random(saved, 3)) {
            ModelFiles.save(model, dir);
        }
        Path cfg = dir.resolve(ConfigJson.FILE_NAME);
        ConfigJson.write(saved.withK(5), cfg);
        try (MxdModel fromDir = ModelFiles.load(dir); MxdModel fromFile = ModelFiles.load(dir.resolve(ModelFiles.WEIGHTS_FILE))) {
            assertEquals(5, fromDir.config().k(), "cfg.json wins");
            assertEquals(5, fromFile.config().k(), "cfg.json beside the file wins");
        }
        Files.delete(cfg);
        try (MxdModel fromDir = ModelFiles.load(dir); MxdModel fromFile = ModelFiles.load(dir.resolve(ModelFiles.WEIGHTS_FILE))) {
            assertEquals(saved, fromDir.config(), "__metadata__.cfg without cfg.json");
            assertEquals(saved, fromFile.config());
        }
    }

    @Test
    void halfPrecisionAndDoubleWeightsLoadAsF32() throws IOException {
        MxdConfig config = MxdConfig.transcoder(2, 2, 2, 1, Activation.RELU, false);
        Path file = dir.resolve("mixed.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            // 1.0, -2.0, 0.5, 65504 (F16); 1.0, -3.0 (BF16); 0.1 and 1e-50 round and flush in F32 (F64).
            t.put("W_enc", SafetensorsRoundTripTest.shorts(arena, DType.F16, new long[] {2, 2}, 0x3c00, 0xc000, 0x3800, 0x7bff));
            t.put("b_enc", SafetensorsRoundTripTest.shorts(arena, DType.BF16, new long[] {2}, 0x3f80, 0xc040));
            t.put("W_dec", SafetensorsRoundTripTest.longs(arena, DType.F64, new long[] {2, 2},
                    Double.doubleToRawLongBits(0.1), Double.doubleToRawLongBits(1e-50), Double.doubleToRawLongBits(-7.0),
                    Double.doubleToRawLongBits(3.0)));
            t.put("b_dec_out", SafetensorsRoundTripTest.ints(arena, DType.F32, new long[] {2}, 0x3f800000, 0x40000000));
            t.put("b_dec", SafetensorsRoundTripTest.ints(arena, DType.F32, new long[] {2}, 0, 0));
            SafetensorsWriter.write(file, t, Map.of(ModelFiles.METADATA_CFG, ConfigJson.toJson(config)));
        }
        try (MxdModel m = ModelFiles.load(file)) {
            assertArrayEquals(new float[] {1f, -2f, 0.5f, 65504f}, floats(m, "W_enc"));
            assertArrayEquals(new float[] {1f, -3f}, floats(m, "b_enc"));
            assertArrayEquals(new float[] {0.1f, 0f, -7f, 3f}, floats(m, "W_dec"));
            assertArrayEquals(new float[] {1f, 2f}, floats(m, "b_dec_out"));
        }
    }

    @Test
    void extraTensorsAreKeptWhenFloatingAndSkippedWhenInteger() throws IOException {
        MxdConfig config = MxdConfig.transcoder(2, 2, 2, 1, Activation.RELU, false);
        Path file = dir.resolve("extra.safetensors");
        try (MxdModel model = MxdModel.zeros(config); Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = new LinkedHashMap<>(model.tensors());
            t.put("W_enc.adam_m", SafetensorsRoundTripTest.ints(arena, DType.F32, new long[] {1}, 0x3f800000));
            t.put("fired", SafetensorsRoundTripTest.longs(arena, DType.I64, new long[] {2}, 5, 6));
            SafetensorsWriter.write(file, t, Map.of(ModelFiles.METADATA_CFG, ConfigJson.toJson(config)));
        }
        try (MxdModel m = ModelFiles.load(file)) {
            assertArrayEquals(new float[] {1f}, floats(m, "W_enc.adam_m"));
            assertFalse(m.hasTensor("fired"));
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        MxdConfig config = MxdConfig.mxd(4, 8, 6, 4, 2, Activation.RELU, false, false);
        Path file = writeModelWithout(config, "gate_bias", Map.of());
        String m = refusedWithoutLeaks(file).getMessage();
        assertTrue(m.startsWith(file.toString()) && m.contains("missing tensor 'gate_bias' (shape [6])"), m);
    }

    @Test
    void wrongShapeNamesTheTensorAndBothShapes() throws IOException {
        MxdConfig config = MxdConfig.mxd(4, 8, 6, 4, 2, Activation.RELU, false, false);
        try (Arena arena = Arena.ofConfined()) {
            Tensor wrong = new Tensor(DType.F32, new long[] {4, 5}, arena.allocate(4 * 5 * 4));
            Path file = writeModelWithout(config, "none", Map.of("W_cond", wrong));
            String m = refusedWithoutLeaks(file).getMessage();
            assertTrue(m.startsWith(file.toString())
                    && m.contains("tensor 'W_cond' has shape [4, 5] but the config needs [4, 6]"), m);
        }
    }

    @Test
    void integerTensorWhereAWeightBelongsIsNamed() throws IOException {
        MxdConfig config = MxdConfig.transcoder(2, 2, 2, 1, Activation.RELU, false);
        try (Arena arena = Arena.ofConfined()) {
            Tensor ints = SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {2}, 1, 2);
            Path file = writeModelWithout(config, "none", Map.of("b_enc", ints));
            String m = refusedWithoutLeaks(file).getMessage();
            assertTrue(m.contains("tensor 'b_enc' is I32"), m);
        }
    }

    @Test
    void badConfigInTheHeaderIsNamed() throws IOException {
        MxdConfig config = MxdConfig.transcoder(2, 2, 2, 1, Activation.RELU, false);
        Path file = writeModelWithout(config, "none", Map.of());
        try (MxdModel model = MxdModel.zeros(config)) {
            SafetensorsWriter.write(file, model.tensors(), Map.of(ModelFiles.METADATA_CFG, "{\"d_in\": 2, \"topk\": }"));
        }
        String m = refusedWithoutLeaks(file).getMessage();
        assertTrue(m.startsWith("__metadata__.cfg of " + file + " is malformed JSON at line 1, column 21"), m);
    }

    @Test
    void noConfigAnywhereIsNamed() throws IOException {
        MxdConfig config = MxdConfig.transcoder(2, 2, 2, 1, Activation.RELU, false);
        Path file = dir.resolve("bare.safetensors");
        try (MxdModel model = MxdModel.zeros(config)) {
            SafetensorsWriter.write(file, model.tensors(), Map.of());
        }
        String m = refusedWithoutLeaks(file).getMessage();
        assertTrue(m.contains("has no config: no cfg.json beside it and no __metadata__.cfg"), m);
    }

    @Test
    void corruptWeightsFileFailsWithoutLeaks() throws IOException {
        MxdConfig config = MxdConfig.transcoder(2, 2, 2, 1, Activation.RELU, false);
        try (MxdModel model = MxdModel.zeros(config)) {
            ModelFiles.save(model, dir);
        }
        Path file = dir.resolve(ModelFiles.WEIGHTS_FILE);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));
        String m = refusedWithoutLeaks(file).getMessage();
        assertTrue(m.contains("truncated"), m);
    }

    @Test
    void otherPathsAreRefusedClearly() throws IOException {
        Path pt = dir.resolve("model.pt");
        Files.write(pt, new byte[] {0x50, 0x4b});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(pt));
        assertTrue(e.getMessage().contains("model.pt"), "a .pt goes to the PyTorch reader, which names the file: "
                + e.getMessage());

        assertThrows(NoSuchFileException.class, () -> ModelFiles.load(dir), "a directory without mxd.safetensors");
        assertThrows(NoSuchFileException.class, () -> ModelFiles.load(dir.resolve("nope.safetensors")));
        Path txt = dir.resolve("weights.bin");
        Files.write(txt, new byte[8]);
        e = assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(txt));
        assertTrue(e.getMessage().contains("is not a model path"), e.getMessage());
    }

    @Test
    void failedSaveLeavesThePreviousPairIntact() throws IOException {
        MxdConfig config = MxdConfig.mxd(4, 8, 6, 4, 2, Activation.RELU, false, false);
        Path weights = dir.resolve(ModelFiles.WEIGHTS_FILE);
        Path cfg = dir.resolve(ConfigJson.FILE_NAME);
        try (MxdModel first = MxdModel.random(config, 1); MxdModel second = MxdModel.random(config.withK(3), 2)) {
            ModelFiles.save(first, dir);
            byte[] weightsBefore = Files.readAllBytes(weights);
            byte[] cfgBefore = Files.readAllBytes(cfg);
            for (String failing : List.of(ModelFiles.WEIGHTS_FILE, ConfigJson.FILE_NAME)) {
                for (long after : new long[] {0, 100}) {
                    IOException e = assertThrows(IOException.class,
                            () -> ModelFiles.save(second, dir, FailingSink.on(failing, after)));
                    assertEquals(FailingSink.MESSAGE, e.getMessage());
                    assertArrayEquals(weightsBefore, Files.readAllBytes(weights), "weights after a failure in " + failing);
                    assertArrayEquals(cfgBefore, Files.readAllBytes(cfg), "cfg.json after a failure in " + failing);
                    assertEquals(List.of(ConfigJson.FILE_NAME, ModelFiles.WEIGHTS_FILE), SafetensorsRoundTripTest.list(dir),
                            "no temporary file left");
                }
            }
            try (MxdModel back = ModelFiles.load(dir)) {
                assertEquals(config, back.config());
                assertEquals(-1, first.tensor("gate").data().mismatch(back.tensor("gate").data()));
            }
            ModelFiles.save(second, dir);
            try (MxdModel back = ModelFiles.load(dir)) {
                assertEquals(3, back.config().k());
            }
        }
    }

    /** A model file holding the config's tensors (zeros), less {@code omit}, with {@code replace} swapped in. */
    private Path writeModelWithout(MxdConfig config, String omit, Map<String, Tensor> replace) throws IOException {
        Path file = dir.resolve("m.safetensors");
        try (MxdModel model = MxdModel.zeros(config)) {
            Map<String, Tensor> t = new LinkedHashMap<>(model.tensors());
            t.remove(omit);
            t.putAll(replace);
            SafetensorsWriter.write(file, t, Map.of(ModelFiles.METADATA_CFG, ConfigJson.toJson(config)));
        }
        return file;
    }

    /**
     * Loads {@code file}, expecting a refusal, and checks that the mapping, the descriptor and every arena
     * the load created are gone afterwards.
     */
    private static IllegalArgumentException refusedWithoutLeaks(Path file) {
        Leaks leaks = Leaks.baseline();
        List<Arena> arenas = new ArrayList<>();
        Supplier<Arena> recording = () -> {
            Arena a = Arena.ofShared();
            arenas.add(a);
            return a;
        };
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(file, recording));
        for (Arena a : arenas) {
            assertFalse(a.scope().isAlive(), "the model's arena is closed after a failed load");
        }
        leaks.assertNothingHeld(file);
        return e;
    }

    private static float[] floats(MxdModel m, String name) {
        MemorySegment s = m.tensor(name).data();
        return s.toArray(Tensor.F32_LE);
    }
}
