package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void everyDtypeRoundTripsBitExact() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            // Bit patterns a lossy path would change: NaN payloads, -0, subnormals, extremes.
            in.put("f32", ints(arena, DType.F32, new long[] {2, 3}, 0x7fc00001, 0x80000000, 0x00000001, 0x7f7fffff,
                    0xff800000, 0x3f800000));
            in.put("f16", shorts(arena, DType.F16, new long[] {5}, 0x7e01, 0x8000, 0x0001, 0x7bff, 0xfc00));
            in.put("bf16", shorts(arena, DType.BF16, new long[] {2, 2}, 0x7fc1, 0x8000, 0x0001, 0xff7f));
            in.put("f64", longs(arena, DType.F64, new long[] {3}, 0x7ff8000000000123L, 0x8000000000000000L, 1L));
            in.put("i32", ints(arena, DType.I32, new long[] {3, 1}, Integer.MIN_VALUE, -1, Integer.MAX_VALUE));
            in.put("i64", longs(arena, DType.I64, new long[] {2}, Long.MIN_VALUE, Long.MAX_VALUE));
            in.put("scalar", ints(arena, DType.F32, new long[] {}, 0x40490fdb));
            in.put("empty", ints(arena, DType.I32, new long[] {0, 4}));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("step", "12");
            meta.put("note", "ünïcödé ✓");

            Path file = dir.resolve("all.safetensors");
            SafetensorsWriter.write(file, in, meta);

            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(List.copyOf(in.keySet()), List.copyOf(f.names()), "names in written order");
                assertEquals(meta, f.metadata());
                for (Map.Entry<String, Tensor> e : in.entrySet()) {
                    Tensor got = f.tensor(e.getKey());
                    assertEquals(e.getValue().dtype(), got.dtype(), e.getKey());
                    assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                    assertEquals(-1, e.getValue().data().mismatch(got.data()), e.getKey() + " bytes");
                }
                assertEquals(0, f.dataStart() % 8, "data section 8-byte aligned");
            }
        }
    }

    @Test
    void headerIsCompactJsonPaddedWithSpacesToEightBytes() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Path file = dir.resolve("one.safetensors");
            SafetensorsWriter.write(file, Map.of("a", ints(arena, DType.F32, new long[] {2}, 0x3f800000, 0xc0000000)),
                    Map.of());
            String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"; // 51 bytes
            ByteBuffer expected = ByteBuffer.allocate(8 + 56 + 8).order(ByteOrder.LITTLE_ENDIAN);
            expected.putLong(56).put(json.getBytes(StandardCharsets.US_ASCII)).put("  ".getBytes(StandardCharsets.US_ASCII));
            expected.putFloat(1f).putFloat(-2f);
            assertArrayEquals(expected.array(), Files.readAllBytes(file));
        }
    }

    /** A file written by the format's reference implementation (safetensors.numpy 0.8.0). */
    @Test
    void readsAFileWrittenByTheReferenceImplementation() throws IOException, URISyntaxException {
        Path file = Path.of(getClass().getResource("numpy.safetensors").toURI());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("i64", "f64", "f32", "i32", "f16"), List.copyOf(f.names()));
            assertEquals(Map.of("made_by", "safetensors.numpy 0.8.0"), f.metadata());
            Tensor f64 = f.tensor("f64");
            assertArrayEquals(new long[] {2, 3}, f64.shape());
            assertArrayEquals(new double[] {-1, -0.5, 0, 0.5, 1, 1.5}, f64.data().toArray(Tensor.F64_LE));
            assertArrayEquals(new float[] {1.5f, -2.25f, 3.0e-40f, -0.0f}, f.tensor("f32").data().toArray(Tensor.F32_LE));
            Tensor f16 = f.tensor("f16");
            assertArrayEquals(new long[] {1, 3}, f16.shape());
            try (Arena arena = Arena.ofConfined()) {
                assertArrayEquals(new float[] {0.5f, 65504f, -0.0f}, f16.toF32(arena).data().toArray(Tensor.F32_LE));
            }
            assertArrayEquals(new int[] {-7, Integer.MAX_VALUE, 0}, f.tensor("i32").data().toArray(Tensor.I32_LE));
            assertArrayEquals(new long[] {-(1L << 40), 3}, f.tensor("i64").data().toArray(Tensor.I64_LE));
        }
    }

    @Test
    void tensorsLargerThanOneWriteChunkRoundTrip() throws IOException {
        long n = 2 * SafetensorsWriter.CHUNK_BYTES / 4 + 3;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(n * 4);
            for (long i = 0; i < n; i++) {
                big.setAtIndex(Tensor.I32_LE, i, (int) (i * 2654435761L));
            }
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("head", ints(arena, DType.I32, new long[] {1}, 7));
            in.put("big", new Tensor(DType.I32, new long[] {n}, big));
            in.put("tail", ints(arena, DType.I32, new long[] {1}, 9));
            Path file = dir.resolve("big.safetensors");
            SafetensorsWriter.write(file, in, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(-1, big.mismatch(f.tensor("big").data()));
                assertEquals(9, f.tensor("tail").data().get(Tensor.I32_LE, 0));
            }
        }
    }

    /**
     * A tensor that lies past 2 GiB in a sparse file: the whole file is one mapping, with no 2 GiB split.
     */
    @Test
    void mapsFilesLargerThan2GiB() throws IOException {
        long pad = 1L << 31;
        String json = "{\"pad\":{\"dtype\":\"F32\",\"shape\":[" + pad / 4 + "],\"data_offsets\":[0," + pad + "]},"
                + "\"tail\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[" + pad + "," + (pad + 16) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.US_ASCII);
        Path file = dir.resolve("sparse.safetensors");
        try {
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
                raf.write(header);
                long dataStart = 8 + header.length;
                raf.setLength(dataStart + pad + 16);
                raf.seek(dataStart + pad);
                raf.write(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(0x0123456789abcdefL).putLong(-42).array());
            }
            assumeTrue(Files.size(file) > pad, "file system refused a sparse file");
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                Tensor tail = f.tensor("tail");
                assertArrayEquals(new long[] {0x0123456789abcdefL, -42}, tail.data().toArray(Tensor.I64_LE));
                Tensor padding = f.tensor("pad");
                assertEquals(pad, padding.data().byteSize());
                assertEquals(0f, padding.data().getAtIndex(Tensor.F32_LE, pad / 4 - 1));
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void tensorsAreInvalidOnceTheFileIsClosed() throws IOException {
        Path file = dir.resolve("c.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(file, Map.of("a", ints(arena, DType.I32, new long[] {1}, 5)), Map.of());
        }
        SafetensorsFile f = SafetensorsFile.open(file);
        Tensor a = f.tensor("a");
        assertEquals(5, a.data().get(Tensor.I32_LE, 0));
        assertTrue(a.data().isReadOnly(), "views into a read-only mapping");
        f.close();
        f.close();
        assertFalse(f.isOpen());
        assertThrows(IllegalStateException.class, () -> a.data().get(Tensor.I32_LE, 0));
        assertThrows(IllegalStateException.class, () -> f.tensor("a"));
    }

    @Test
    void openFileIsOneMappingAndCloseReleasesIt() throws IOException {
        assumeTrue(Leaks.procAvailable(), "needs /proc");
        Path file = dir.resolve("m.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(file, Map.of("a", ints(arena, DType.I32, new long[] {1}, 5)), Map.of());
        }
        Leaks leaks = Leaks.baseline();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(1, Leaks.mappings(file), "the open file is mapped");
            assertEquals(0, Leaks.openDescriptors(file), "the channel is closed once mapped");
            assertEquals(5, f.tensor("a").data().get(Tensor.I32_LE, 0));
        }
        leaks.assertNothingHeld(file);
    }

    @Test
    void writerRejectsReservedAndEmptyNames() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = ints(arena, DType.I32, new long[] {1}, 1);
            Path file = dir.resolve("x.safetensors");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SafetensorsWriter.write(file, Map.of("__metadata__", t), Map.of()));
            assertTrue(e.getMessage().contains("'__metadata__'"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, Map.of("", t), Map.of()));
            assertFalse(Files.exists(file));
        }
    }

    @Test
    void writingToAMissingDirectoryFailsWithoutLeavingFiles() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = ints(arena, DType.I32, new long[] {1}, 1);
            Path file = dir.resolve("missing").resolve("x.safetensors");
            assertThrows(IOException.class, () -> SafetensorsWriter.write(file, Map.of("a", t), Map.of()));
        }
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(), listing.toList());
        }
    }

    static Tensor ints(Arena arena, DType dtype, long[] shape, int... bits) {
        MemorySegment s = arena.allocate(4L * bits.length);
        for (int i = 0; i < bits.length; i++) {
            s.setAtIndex(Tensor.I32_LE, i, bits[i]);
        }
        return new Tensor(dtype, shape, s);
    }

    static Tensor shorts(Arena arena, DType dtype, long[] shape, int... bits) {
        MemorySegment s = arena.allocate(2L * bits.length);
        for (int i = 0; i < bits.length; i++) {
            s.setAtIndex(Tensor.I16_LE, i, (short) bits[i]);
        }
        return new Tensor(dtype, shape, s);
    }

    static Tensor longs(Arena arena, DType dtype, long[] shape, long... bits) {
        MemorySegment s = arena.allocate(8L * bits.length);
        for (int i = 0; i < bits.length; i++) {
            s.setAtIndex(Tensor.I64_LE, i, bits[i]);
        }
        return new Tensor(dtype, shape, s);
    }

    static List<String> list(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
