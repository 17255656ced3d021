package dev.mxd.checkpoint;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of the loaders with Jazzer ({@link LoaderTargets} says what counts as a finding). In the
 * suite each target replays its committed inputs ({@code LoaderFuzzTestInputs/<target>/}: the fixtures, and any
 * input that once found a bug); with {@code JAZZER_FUZZ=1} Jazzer mutates them for {@code maxDuration}
 * ({@code ./mxd stress} does, one target after the other, docs/RELIABILITY.md).
 */
class LoaderFuzzTest {
    private static Path dir;
    private static LoaderTargets targets;

    @BeforeAll
    static void createDirectory() throws IOException {
        dir = Files.createTempDirectory("mxd-fuzz");
        targets = new LoaderTargets(dir);
    }

    @AfterAll
    static void deleteDirectory() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    @FuzzTest(maxDuration = "20m")
    void safetensors(byte[] data) {
        targets.safetensors(data);
    }

    @FuzzTest(maxDuration = "20m")
    void torch(byte[] data) {
        targets.torch(data);
    }

    @FuzzTest(maxDuration = "20m")
    void config(byte[] data) {
        targets.config(data);
    }
}
