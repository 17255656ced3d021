package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.oracle.ReferenceMxd;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: the packaged jar ({@code target/mxd-cli.jar} with {@code target/lib}) runs in its own JVM, as
 * {@code ./mxd} runs it, and its output files are read back and checked against the oracle.
 */
class CliIT {
    private static final Path JAR = Path.of("target", "mxd-cli.jar").toAbsolutePath();

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private static Run mxd(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(System.getProperty("mxd.jvmFlags", "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED").split(" ")));
        cmd.add("-jar");
        cmd.add(JAR.toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "mxd did not finish");
        // The JVM announces incubator modules on every start; ./mxd filters that line, so the test does too.
        String errText = new String(err, StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules"))
                .map(l -> l + "\n").collect(java.util.stream.Collectors.joining());
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), errText);
    }

    private Path writeModel(MxdConfig cfg, long seed) throws IOException {
        Path modelDir = dir.resolve("model");
        try (MxdModel model = MxdModel.random(cfg, seed)) {
            model.save(modelDir);
        }
        return modelDir;
    }

    private Path writeInput(float[] x, int tokens, int width) throws IOException {
        Path in = dir.resolve("x.safetensors");
        SafetensorsWriter.write(in, Map.of("x", new Tensor(DType.F32, new long[] {tokens, width}, MemorySegment.ofArray(x))), Map.of());
        return in;
    }

    @Test
    void forwardWritesOutputsMatchingTheOracle() throws Exception {
        MxdConfig cfg = MxdConfig.mxd(7, 13, 19, 5, 3, Activation.GELU, true, true);
        int tokens = 9;
        float[] x = new float[tokens * 7];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Path modelDir = writeModel(cfg, 3);
        Path in = writeInput(x, tokens, 7);
        Path out = dir.resolve("y.safetensors");
        Run run = mxd("forward", "--model", modelDir.toString(), "--input", in.toString(), "--output", out.toString(),
                "--backend", "reference");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("9 tokens, MXD"), run.out());

        ReferenceMxd.Result expected;
        try (MxdModel model = MxdModel.load(modelDir)) {
            // The reference backend decodes from the float32 codes it returns.
            ReferenceMxd oracle = new ReferenceMxd(model);
            ReferenceMxd.Codes64 c = oracle.encode(x, tokens);
            double[] rounded = java.util.Arrays.stream(c.value()).map(v -> (float) v).toArray();
            ReferenceMxd.Codes64 c32 = new ReferenceMxd.Codes64(tokens, c.width(), c.index(), rounded);
            expected = new ReferenceMxd.Result(oracle.decode(x, tokens, c32), c32);
        }
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            Tensor y = f.tensor("y");
            Tensor idx = f.tensor("codes.index");
            Tensor val = f.tensor("codes.value");
            assertEquals(DType.F32, y.dtype());
            assertEquals(DType.I32, idx.dtype());
            assertTrue(y.hasShape(tokens, 5) && idx.hasShape(tokens, 3) && val.hasShape(tokens, 3));
            for (int e = 0; e < tokens * 5; e++) {
                assertEquals((float) expected.y()[e], y.data().getAtIndex(Tensor.F32_LE, e));
            }
            for (int e = 0; e < tokens * 3; e++) {
                assertEquals(expected.codes().index()[e], idx.data().getAtIndex(Tensor.I32_LE, e));
                assertEquals((float) expected.codes().value()[e], val.data().getAtIndex(Tensor.F32_LE, e));
            }
        }
    }

    @Test
    void infoDescribesTheModel() throws Exception {
        Path modelDir = writeModel(MxdConfig.skipTranscoder(6, 11, 6, 4, Activation.SIGMOID, false), 1);
        Run run = mxd("info", modelDir.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("kind        STC"), run.out());
        assertTrue(run.out().contains("parameters  " + String.format("%,d", 6 * 11 + 11 + 11 * 6 + 6 * 6 + 6)), run.out());
        assertTrue(run.out().contains("W_skip.weight"), run.out());
        assertTrue(run.out().contains("\"mlp_activation_fn\" : \"sigmoid\""), run.out());
    }

    @Test
    void errorsAreOneLineWithNonZeroExit() throws Exception {
        Path modelDir = writeModel(MxdConfig.mxd(7, 13, 19, 5, 3, Activation.RELU, false, false), 1);
        Path in = writeInput(new float[2 * 6], 2, 6);
        Run run = mxd("forward", "--model", modelDir.toString(), "--input", in.toString(), "--output",
                dir.resolve("y.safetensors").toString(), "--backend", "reference");
        assertEquals(1, run.exit());
        assertEquals("mxd: input tensor 'x' has shape [2, 6] but the model expects [T, 7] with T >= 1\n", run.err());
        assertTrue(Files.notExists(dir.resolve("y.safetensors")), "no output on failure");

        run = mxd("forward", "--model", dir.resolve("missing").toString(), "--input", in.toString(), "--output", "o");
        assertEquals(1, run.exit());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().startsWith("mxd: "), run.err());

        Path good = writeInput(new float[2 * 7], 2, 7);
        run = mxd("forward", "--model", modelDir.toString(), "--input", good.toString(), "--output", "o", "--backend", "cuda");
        assertEquals(1, run.exit());
        assertTrue(run.err().startsWith("mxd: unknown backend 'cuda' (names: auto, cpu, opencl, reference). Available:"), run.err());

        run = mxd("forward", "--model", modelDir.toString(), "--input", good.toString(), "--output", "o", "--backend", "cuda",
                "--verbose");
        assertTrue(run.err().contains("\tat dev.mxd.Backends"), "stack trace with --verbose: " + run.err());

        run = mxd("forward", "--model");
        assertEquals(2, run.exit());
        assertTrue(run.err().startsWith("mxd: Missing required parameter for option '--model'"), run.err());
    }

    private Path resource(String name) throws IOException {
        Path to = dir.resolve(name.substring(name.lastIndexOf('/') + 1));
        try (var in = CliIT.class.getResourceAsStream(name)) {
            assertTrue(in != null, "test resource " + name);
            Files.copy(in, to);
        }
        return to;
    }

    private static float[] floats(Tensor t) {
        float[] f = new float[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < f.length; i++) {
            f[i] = t.data().getAtIndex(Tensor.F32_LE, i);
        }
        return f;
    }

    @Test
    void referenceCheckpointRunsDirectlyAndAfterConvert() throws Exception {
        Path pt = resource("/fixtures/pt/mxd_glu_skip_gelu.pt");
        Path expected = resource("/fixtures/pt/mxd_glu_skip_gelu.expected.safetensors");
        Path direct = dir.resolve("direct.safetensors");
        Run run = mxd("forward", "--model", pt.toString(), "--input", expected.toString(), "--output", direct.toString(),
                "--backend", "cpu");
        assertEquals(0, run.exit(), run.err());

        Path converted = dir.resolve("converted");
        run = mxd("convert", pt.toString(), converted.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("MXD"), run.out());
        assertTrue(Files.exists(converted.resolve("mxd.safetensors")) && Files.exists(converted.resolve("cfg.json")));
        Path viaConvert = dir.resolve("via-convert.safetensors");
        run = mxd("forward", "--model", converted.toString(), "--input", expected.toString(), "--output",
                viaConvert.toString(), "--backend", "cpu");
        assertEquals(0, run.exit(), run.err());

        try (SafetensorsFile torch = SafetensorsFile.open(expected); SafetensorsFile a = SafetensorsFile.open(direct);
             SafetensorsFile b = SafetensorsFile.open(viaConvert)) {
            Tensor yTorch = torch.tensor("y");
            float[] ya = floats(a.tensor("y"));
            float[] yb = floats(b.tensor("y"));
            double maxAbs = 0;
            for (int e = 0; e < ya.length; e++) {
                maxAbs = Math.max(maxAbs, Math.abs(yTorch.data().getAtIndex(Tensor.F64_LE, e)));
            }
            for (int e = 0; e < ya.length; e++) {
                double t = yTorch.data().getAtIndex(Tensor.F64_LE, e);
                assertTrue(Math.abs(ya[e] - t) <= 1e-5 * maxAbs + 1e-4 * Math.abs(t), "y[" + e + "] vs PyTorch");
                assertEquals(Float.floatToIntBits(ya[e]), Float.floatToIntBits(yb[e]), "convert then forward is identical");
            }
        }

        run = mxd("info", pt.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("kind        MXD"), run.out());
    }

    @Test
    void maliciousCheckpointIsRefusedInOneLine() throws Exception {
        Path pt = resource("/fixtures/pt/malicious_os_system.pt");
        Run run = mxd("convert", pt.toString(), dir.resolve("out").toString());
        assertEquals(1, run.exit());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().contains("refusing to call"), run.err());
        assertTrue(Files.notExists(dir.resolve("out")), "nothing written");
    }

    @Test
    void helpIsEverywhere() throws Exception {
        for (String[] args : new String[][] {{"--help"}, {"forward", "--help"}, {"info", "--help"}, {"convert", "--help"}}) {
            Run run = mxd(args);
            assertEquals(0, run.exit(), run.err());
            assertTrue(run.out().startsWith("Usage: mxd"), run.out());
        }
    }
}
