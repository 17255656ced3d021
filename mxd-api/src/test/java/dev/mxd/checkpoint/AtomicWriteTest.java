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
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed safetensors write leaves the previous file byte-identical and loadable, and no temporary file. */
class AtomicWriteTest {
    @TempDir
    Path dir;

    @Test
    void ioFailureMidwayKeepsTheOldFile() throws IOException {
        Path file = dir.resolve("w.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            Tensor old = SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {3}, 1, 2, 3);
            SafetensorsWriter.write(file, Map.of("a", old), Map.of("v", "1"));
            byte[] before = Files.readAllBytes(file);
            Tensor bigger = new Tensor(DType.F32, new long[] {1000}, arena.allocate(4000));
            long[] failAfter = {0, 5, 8, 60, before.length, 2000};
            for (long after : failAfter) {
                IOException e = assertThrows(IOException.class, () -> AtomicWrite.write(file,
                        SafetensorsWriter.content(Map.of("a", bigger), Map.of("v", "2")), FailingSink.on(file.getFileName().toString(), after)));
                assertEquals(FailingSink.MESSAGE, e.getMessage());
                assertArrayEquals(before, Files.readAllBytes(file), "after failing at byte " + after);
                assertEquals(List.of("w.safetensors"), SafetensorsRoundTripTest.list(dir), "no temporary file left");
            }
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(Map.of("v", "1"), f.metadata());
                assertEquals(-1, old.data().mismatch(f.tensor("a").data()));
            }
        }
    }

    @Test
    void tensorFreedBeforeTheWriteFailsItAndKeepsTheOldFile() throws IOException {
        Path file = dir.resolve("w.safetensors");
        Tensor freed;
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(file, Map.of("a", SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {1}, 9)),
                    Map.of());
            freed = SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {1}, 10);
        }
        byte[] before = Files.readAllBytes(file);
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, Map.of("a", freed), Map.of()));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of("w.safetensors"), SafetensorsRoundTripTest.list(dir));
    }

    /**
     * A directory that refuses new files: read-only by its mode, or, for root (whom modes do not stop), by the
     * immutable attribute. The error names the file asked for and why, and the old file stays as it was.
     */
    @Test
    void readOnlyDirectoryIsAClearErrorAndKeepsTheOldFile() throws IOException, InterruptedException {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Path file = ro.resolve("w.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(file, Map.of("a", SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {2}, 1, 2)),
                    Map.of());
            byte[] before = Files.readAllBytes(file);
            Tensor t = SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {2}, 3, 4);
            boolean root = "root".equals(System.getProperty("user.name"));
            if (root) {
                attribute(ro, "+i");
            } else {
                Files.setPosixFilePermissions(ro, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
            }
            try {
                IOException e = assertThrows(IOException.class,
                        () -> SafetensorsWriter.write(file, Map.of("a", t), Map.of()));
                assertTrue(e.getMessage().startsWith(file + ": cannot create a file in " + ro), e.getMessage());
                assertTrue(e.getMessage().endsWith("; the file is unchanged"), e.getMessage());
            } finally {
                if (root) {
                    attribute(ro, "-i");
                } else {
                    Files.setPosixFilePermissions(ro, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
            assertArrayEquals(before, Files.readAllBytes(file));
            assertEquals(List.of("w.safetensors"), SafetensorsRoundTripTest.list(ro));
        }
    }

    /** {@code chattr} (e2fsprogs): root's way to make a directory refuse new files. */
    private static void attribute(Path path, String change) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("chattr", change, path.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "chattr " + change + " " + path + " (root needs it to make a directory read-only;"
                + " the file system must support the immutable attribute): " + out);
    }

    @Test
    void failedFirstWriteLeavesNoFile() throws IOException {
        Path file = dir.resolve("new.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {2}, 1, 2);
            assertThrows(IOException.class, () -> AtomicWrite.write(file, SafetensorsWriter.content(Map.of("a", t), Map.of()),
                    FailingSink.on("new.safetensors", 10)));
        }
        assertFalse(Files.exists(file));
        assertEquals(List.of(), SafetensorsRoundTripTest.list(dir));
    }

    /** The temporary file must not carry a private mode (as {@code Files.createTempFile}'s 0600) into the result. */
    @Test
    void savedFileHasTheModeOfAnyNewFile() throws IOException {
        assumeTrue(Files.getFileAttributeView(dir, PosixFileAttributeView.class) != null, "POSIX file modes");
        Path plain = Files.write(dir.resolve("plain"), new byte[1]);
        Path file = dir.resolve("m.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(file, Map.of("a", SafetensorsRoundTripTest.ints(arena, DType.I32, new long[] {1}, 1)),
                    Map.of());
        }
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file));
    }
}
