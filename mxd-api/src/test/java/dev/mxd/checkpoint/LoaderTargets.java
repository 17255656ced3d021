package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.MxdModel;
import dev.mxd.checkpoint.torch.TorchCheckpoint;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fuzz targets' oracle, one method per loader, shared by {@link LoaderFuzzTest} (Jazzer) and
 * {@link LoaderMutationTest} (the suite's time-boxed pass). Each input is written to a file and loaded; allowed
 * outcomes are a load whose every tensor byte can be read, or the documented {@link IllegalArgumentException} /
 * {@link IOException} with a message. Anything else thrown (an {@code OutOfMemoryError}, an index, cast or null
 * error) escapes and is a finding. So is a load that allocates much more heap than the file is long (a lying
 * size believed before it was checked) or one that leaves the file mapped or open.
 */
final class LoaderTargets {
    /**
     * Heap a load may take beyond 16 bytes per file byte: parsing, messages, the JSON tree, and on the first
     * load of a JVM the classes it initialises (up to 30 MB measured). A header believed before it is checked
     * asks for far more: sizes that lie are large.
     */
    static final long HEAP_SLACK_BYTES = 64L << 20;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final Path dir;

    LoaderTargets(Path dir) {
        this.dir = dir;
    }

    void safetensors(byte[] data) {
        run(data, "input.safetensors", file -> {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (String name : f.names()) {
                    readAll(f.tensor(name));
                }
            }
        });
    }

    void torch(byte[] data) {
        run(data, "input.pt", file -> {
            try (MxdModel m = TorchCheckpoint.load(file)) {
                m.tensors().values().forEach(LoaderTargets::readAll);
            }
        });
    }

    void config(byte[] data) {
        run(data, ConfigJson.FILE_NAME, file -> ConfigJson.read(file).tensorShapes());
    }

    private interface Load {
        void apply(Path file) throws IOException;
    }

    private void run(byte[] data, String name, Load load) {
        Path file = dir.resolve(name);
        try {
            Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long before = THREADS.getCurrentThreadAllocatedBytes();
        try {
            load.apply(file);
        } catch (IllegalArgumentException | IOException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), () -> "no message: " + e);
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated <= 16L * data.length + HEAP_SLACK_BYTES,
                () -> allocated + " bytes of heap for a " + data.length + "-byte input");
        assertTrue(Leaks.mappings(file) == 0 && Leaks.openDescriptors(file) == 0, "the input stays mapped or open");
    }

    private static void readAll(Tensor t) {
        long sum = 0;
        for (long i = 0; i < t.data().byteSize(); i++) {
            sum += t.data().get(ValueLayout.JAVA_BYTE, i);
        }
        if (sum == Long.MIN_VALUE) {
            throw new AssertionError("unreachable: keeps the reads");
        }
    }

    /** The committed seeds of one target (copies of the test fixtures), from the test resources. */
    static java.util.List<byte[]> seeds(String target) throws IOException {
        Path root;
        try {
            root = Path.of(LoaderTargets.class.getResource("LoaderFuzzTestInputs/" + target).toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        try (var files = Files.list(root)) {
            return files.sorted().map(p -> {
                try {
                    return Files.readAllBytes(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        }
    }
}
