package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * What a process visibly holds of a file: memory mappings (Linux {@code /proc/self/maps}, and the JDK's
 * "mapped" buffer pool anywhere) and open descriptors ({@code /proc/self/fd}).
 */
final class Leaks {
    private static final Path MAPS = Path.of("/proc/self/maps");
    private static final Path FDS = Path.of("/proc/self/fd");

    private final long mappedBefore;

    private Leaks() {
        mappedBefore = mappedCount();
    }

    /** Takes the baseline of the JDK's mapped-memory count. */
    static Leaks baseline() {
        return new Leaks();
    }

    /** Asserts that {@code file} is neither mapped nor open, and no mapping was added since the baseline. */
    void assertNothingHeld(Path file) {
        assertEquals(mappedBefore, mappedCount(), "file mappings alive in the JDK's mapped buffer pool");
        assertEquals(0, mappings(file), "lines of /proc/self/maps naming " + file);
        assertEquals(0, openDescriptors(file), "descriptors in /proc/self/fd open on " + file);
    }

    static boolean procAvailable() {
        return Files.isReadable(MAPS) && Files.isDirectory(FDS);
    }

    static long mappedCount() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("mapped")).mapToLong(BufferPoolMXBean::getCount).sum();
    }

    /** Mappings of {@code file} in this process (0 where /proc is absent). */
    static long mappings(Path file) {
        if (!procAvailable()) {
            return 0;
        }
        String name = real(file);
        try (Stream<String> lines = Files.lines(MAPS)) {
            return lines.filter(l -> l.endsWith(" " + name) || l.endsWith(" " + name + " (deleted)")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Open descriptors on {@code file} in this process (0 where /proc is absent). */
    static long openDescriptors(Path file) {
        if (!procAvailable()) {
            return 0;
        }
        String name = real(file);
        try (Stream<Path> fds = Files.list(FDS)) {
            return fds.filter(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    return target.equals(name) || target.equals(name + " (deleted)");
                } catch (IOException e) {
                    return false; // closed while listing (the listing's own descriptor, for one)
                }
            }).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String real(Path file) {
        Path abs = file.toAbsolutePath();
        try {
            return abs.getParent().toRealPath().resolve(abs.getFileName()).toString();
        } catch (IOException e) {
            return abs.toString();
        }
    }
}
