package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.oracle.OracleMxd;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    /**
     * Runs the launcher {@code ./mxd} (a copy of it and {@code tools/lib.sh} with the root pom, over this module's
     * built {@code target/}, stamped newer than every source so that it does not build) with a {@code grep} first
     * on PATH that writes what it kept a second after its input ended: a launcher that returns before its stderr
     * filter has finished loses the filter's lines. stdout and stderr go to files, read the moment the process has exited.
     */
    private Run launcher(String... args) throws IOException, InterruptedException {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        Path root = dir.resolve("checkout");
        Files.createDirectories(root.resolve("tools"));
        Files.createDirectories(root.resolve("mxd-cli"));
        Files.copy(repo.resolve("mxd"), root.resolve("mxd"));
        Files.copy(repo.resolve("tools/lib.sh"), root.resolve("tools/lib.sh"));
        Files.copy(repo.resolve("pom.xml"), root.resolve("pom.xml"));
        Path link = Files.createSymbolicLink(root.resolve("mxd-cli/target"), Path.of("target").toAbsolutePath());
        Path stamp = Files.createFile(Files.createDirectories(root.resolve(".mxd")).resolve("build.stamp"));
        Files.setLastModifiedTime(stamp, java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(3600)));
        String path = System.getenv("PATH");
        Path realGrep = java.util.Arrays.stream(path.split(":")).map(d -> Path.of(d, "grep")).filter(Files::isExecutable)
                .findFirst().orElseThrow(() -> new AssertionError("no grep on PATH " + path));
        Path bin = Files.createDirectories(dir.resolve("slow-bin"));
        // Filters all its input, then waits a second before it writes: its lines come after java has exited.
        Files.writeString(bin.resolve("grep"), "#!/bin/sh\nkept=$(" + realGrep + " \"$@\")\nsleep 1\n"
                + "[ -z \"$kept\" ] || printf '%s\\n' \"$kept\"\n");
        assertTrue(bin.resolve("grep").toFile().setExecutable(true));

        List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("mxd").toString()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("launcher.out"), err = dir.resolve("launcher.err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("PATH", bin + ":" + path);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        try {
            Process p = pb.start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "./mxd did not finish");
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.delete(link);   // the link, not this module's target/ (JUnit warns about links it must clean up)
        }
    }

    @Test
    void launcherErrorIsCompleteOnStderrWhenItExits() throws Exception {
        Path missing = dir.resolve("no-such-model");
        Run run = launcher("info", missing.toString());
        assertEquals(1, run.exit(), run.err());
        // Exactly the one line: complete, and the JVM's incubator-module warning filtered out.
        assertEquals("mxd: no such file: " + missing + "\n", run.err());
        assertEquals("", run.out());
    }

    @Test
    void launcherHelpHasNoWarnings() throws Exception {
        Run run = launcher("--help");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("Usage: mxd"), run.out());
        assertTrue(run.out().contains("demo "), run.out());
        assertEquals("", run.err());
        for (String command : List.of("train", "demo")) {   // the two whose help once held a lone '%'
            run = mxd(command, "--help");
            assertEquals(0, run.exit(), run.err());
            assertEquals("", run.err(), command + " --help");
        }
    }

    private Path writeModel(MxdConfig cfg, long seed) throws IOException {
        Path modelDir = dir.resolve("model");
        try (MxdModel model = MxdModel.random(cfg, seed)) {
            ModelFiles.save(model, modelDir);
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

        OracleMxd.Result expected;
        try (MxdModel model = ModelFiles.load(modelDir)) {
            // The reference backend decodes from the float32 codes it returns.
            OracleMxd oracle = new OracleMxd(model);
            OracleMxd.Codes64 c = oracle.encode(x, tokens);
            double[] rounded = java.util.Arrays.stream(c.value()).map(v -> (float) v).toArray();
            OracleMxd.Codes64 c32 = new OracleMxd.Codes64(tokens, c.width(), c.index(), rounded);
            expected = new OracleMxd.Result(oracle.decode(x, tokens, c32), c32);
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
        assertTrue(run.out().contains("\"mlp_activation_fn\": \"sigmoid\""), run.out());
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

    // ---- train and eval ------------------------------------------------------------------------------------

    private static final MxdConfig TEACHER = MxdConfig.mxd(6, 8, 12, 5, 3, Activation.GELU, false, false);

    /** DIR/train (two shards) and DIR/eval of (x, teacher(x)) pairs, computed by the oracle. */
    private Path writeActivations(String name, int trainTokens, int evalTokens, boolean withEval) throws IOException {
        Path data = dir.resolve(name);
        try (MxdModel teacher = MxdModel.random(TEACHER, 17)) {
            OracleMxd oracle = new OracleMxd(teacher);
            SplittableRandom r = new SplittableRandom(5);
            int half = trainTokens / 2;
            writeShard(oracle, r, half, data.resolve("train/000.safetensors"));
            writeShard(oracle, r, trainTokens - half, data.resolve("train/001.safetensors"));
            if (withEval) {
                writeShard(oracle, r, evalTokens, data.resolve("eval/000.safetensors"));
            }
        }
        return data;
    }

    private static void writeShard(OracleMxd oracle, SplittableRandom r, int tokens, Path file) throws IOException {
        float[] x = new float[tokens * 6];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        double[] y = oracle.forward(x, tokens).y();
        float[] t = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            t[i] = (float) y[i];
        }
        Files.createDirectories(file.getParent());
        Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.put("x", new Tensor(DType.F32, new long[] {tokens, 6}, MemorySegment.ofArray(x)));
        tensors.put("t", new Tensor(DType.F32, new long[] {tokens, 5}, MemorySegment.ofArray(t)));
        SafetensorsWriter.write(file, tensors, Map.of());
    }

    /** The metrics of the saved model on the first {@code tokens} rows of {@code DIR/eval}, by the oracle in this JVM. */
    private static dev.mxd.train.Metrics oracleMetrics(Path modelDir, Path data, int tokens) throws IOException {
        try (MxdModel model = ModelFiles.load(modelDir);
             dev.mxd.train.ActivationDirectory acts = dev.mxd.train.ActivationDirectory.open(data)) {
            MxdConfig cfg = model.config();
            int in = cfg.inputDim(), out = cfg.outputDim(), k = cfg.k();
            dev.mxd.train.Metrics expected = new dev.mxd.train.Metrics(out, cfg.codeSpace());
            float[] x = new float[tokens * in], t = new float[tokens * out];
            acts.eval().read(0, tokens, x, t, 0);
            OracleMxd.Result r = new OracleMxd(model).forward(x, tokens);
            float[] y = new float[tokens * out];
            dev.mxd.Codes codes = dev.mxd.Codes.onHeap(tokens, k);
            for (int i = 0; i < y.length; i++) {
                y[i] = (float) r.y()[i];
            }
            for (int e = 0; e < tokens * k; e++) {
                codes.set(e / k, e % k, r.codes().index()[e], (float) r.codes().value()[e]);
            }
            expected.add(MemorySegment.ofArray(y), MemorySegment.ofArray(t), codes, tokens);
            return expected;
        }
    }

    /** A TC and an STC train end to end on the same activations, and eval --json measures what was written. */
    @ParameterizedTest
    @ValueSource(strings = {"tc", "stc"})
    void trainWritesATranscoderThatEvalMeasures(String kind) throws Exception {
        Path data = writeActivations("acts", 1000, 300, true);
        Path out = dir.resolve(kind);
        List<String> args = new ArrayList<>(List.of(trainArgs(data, out, "--kind", kind, "--tokens", "6400")));
        int at = args.indexOf("--experts");   // a transcoder has no experts
        args.remove(at + 1);
        args.remove(at);
        Run run = mxd(args.toArray(String[]::new));
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("step 100/100"), run.out());
        String cfgJson = Files.readString(out.resolve("cfg.json"));
        for (String s : List.of("\"use_conditional\": false", "\"use_skip\": " + kind.equals("stc"), "\"d_sae\": 8",
                "\"topk\": 3", "\"norm_dec\": " + kind.equals("tc"))) {
            assertTrue(cfgJson.contains(s), s + " in " + cfgJson);
        }
        Run eval = mxd("eval", "--model", out.toString(), "--data", data.toString(), "--json", "--backend", "cpu");
        assertEquals(0, eval.exit(), eval.err());
        Map<?, ?> json = Json.parseObject(eval.out(), "eval --json");
        dev.mxd.train.Metrics expected = oracleMetrics(out, data, 300);
        assertEquals(300, ((Number) json.get("tokens")).intValue());
        assertEquals(expected.fvu(), ((Number) json.get("fvu")).doubleValue(), 1e-4 * expected.fvu());
        assertEquals(expected.l0(), ((Number) json.get("l0")).doubleValue(), 0.02);
        assertTrue(expected.fvu() < 1, kind + " learnt nothing: held-out FVU " + expected.fvu());
    }

    private static String[] trainArgs(Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--kind", "mxd", "--k", "3",
                "--hidden", "8", "--experts", "12", "--out", out.toString(), "--batch", "64", "--tokens", "1280",
                "--lr", "1e-2", "--seed", "3", "--backend", "cpu"));
        // an option given in more replaces the default above (picocli refuses repeated options)
        for (String m : more) {
            int at = a.indexOf(m);
            if (m.startsWith("--") && at > 0 && at + 1 < a.size() && !a.get(at + 1).startsWith("--")) {
                a.remove(at + 1);
                a.remove(at);
            }
        }
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void trainWritesAModelThatEvalMeasures() throws Exception {
        Path data = writeActivations("acts", 1000, 300, true);
        Path out = dir.resolve("trained");
        Run run = mxd(trainArgs(data, out, "--tokens", "12800"));
        assertEquals(0, run.exit(), run.err());
        for (String s : List.of("step 200/200", "tok/s", "ETA", "loss", "FVU", "L0", "dead", "backend cpu")) {
            assertTrue(run.out().contains(s), s + " in: " + run.out());
        }
        String cfgJson = Files.readString(out.resolve("cfg.json"));
        for (String s : List.of("\"lr\": 0.01", "\"lr_scheduler_name\": \"constantwithwarmup\"",
                "\"lr_warm_up_steps\": 10", "\"train_batch_size\": 64", "\"seed\": 3", "\"n_experts\": 12",
                "\"total_training_tokens\": 12800", "\"norm_dec\": true")) {
            assertTrue(cfgJson.contains(s), s + " in " + cfgJson);
        }

        Run eval = mxd("eval", "--model", out.toString(), "--data", data.toString(), "--json", "--backend", "cpu");
        assertEquals(0, eval.exit(), eval.err());
        assertEquals(1, eval.out().lines().count(), eval.out());
        Map<?, ?> json = Json.parseObject(eval.out(), "eval --json");
        dev.mxd.train.Metrics expected = oracleMetrics(out, data, 300);
        try (MxdModel model = ModelFiles.load(out)) {
            assertEquals(12, model.config().experts());
        }
        assertEquals(300, ((Number) json.get("tokens")).intValue());
        assertEquals(expected.fvu(), ((Number) json.get("fvu")).doubleValue(), 1e-4 * expected.fvu());
        assertEquals(expected.nmse(), ((Number) json.get("nmse")).doubleValue(), 1e-4 * expected.nmse());
        assertEquals(expected.l0(), ((Number) json.get("l0")).doubleValue(), 0.02);
        assertEquals(expected.deadFraction(), ((Number) json.get("dead_fraction")).doubleValue(), 1.0 / 12 + 1e-9);
        assertTrue(expected.fvu() < 0.5, "200 steps at lr 1e-2 should learn the teacher: FVU " + expected.fvu());

        Run text = mxd("eval", "--model", out.toString(), "--data", data.toString(), "--backend", "cpu");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("FVU") && text.out().contains("dead"), text.out());
    }

    @Test
    void stopAndResumeGivesTheUninterruptedWeights() throws Exception {
        Path data = writeActivations("acts", 1000, 0, false);
        Path straight = dir.resolve("straight");
        Path sliced = dir.resolve("sliced");
        assertEquals(0, mxd(trainArgs(data, straight)).exit());
        Run first = mxd(trainArgs(data, sliced, "--stop-after", "9"));
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("stopped at step 9 of 20"), first.out());
        assertTrue(Files.notExists(sliced.resolve("mxd.safetensors")), "no final model before the end");
        Run second = mxd(trainArgs(data, sliced, "--resume"));
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("resumed at step 9"), second.out());
        try (SafetensorsFile a = SafetensorsFile.open(straight.resolve("mxd.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(sliced.resolve("mxd.safetensors"))) {
            assertEquals(a.names(), b.names());
            for (String n : a.names()) {
                assertEquals(-1L, a.tensor(n).data().mismatch(b.tensor(n).data()), n + " differs after resume");
            }
        }
        Run changed = mxd(trainArgs(data, sliced, "--resume", "--lr", "2e-2"));
        assertEquals(1, changed.exit());
        assertTrue(changed.err().contains("lr"), changed.err());
    }

    @Test
    void trainAndEvalRejectBadInput() throws Exception {
        Path noEval = writeActivations("noeval", 200, 0, false);
        Path out = dir.resolve("m");
        Run run = mxd(trainArgs(noEval, out, "--tokens", "128"));
        assertEquals(0, run.exit(), run.err());
        run = mxd("eval", "--model", out.toString(), "--data", noEval.toString());
        assertEquals(1, run.exit());
        assertTrue(run.err().startsWith("mxd: the held-out split") && run.err().contains("empty or missing"), run.err());

        Path other = writeModel(MxdConfig.mxd(7, 8, 12, 5, 3, Activation.GELU, false, false), 1);
        run = mxd("eval", "--model", other.toString(), "--data", noEval.toString());
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("d_in = 7"), run.err());

        run = mxd(trainArgs(noEval, dir.resolve("x"), "--kind", "sae"));
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("--kind must be mxd, tc or stc"), run.err());

        run = mxd(trainArgs(dir.resolve("nothing"), dir.resolve("x")));
        assertEquals(1, run.exit());
        assertEquals(1, run.err().lines().count(), run.err());

        // a zero target row is named by shard and row
        Path zero = dir.resolve("zero/train/000.safetensors");
        Files.createDirectories(zero.getParent());
        float[] x = new float[64 * 6];
        float[] t = new float[64 * 5];
        java.util.Arrays.fill(x, 1f);
        java.util.Arrays.fill(t, 1f);
        java.util.Arrays.fill(t, 10 * 5, 11 * 5, 0f);
        Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
        tensors.put("x", new Tensor(DType.F32, new long[] {64, 6}, MemorySegment.ofArray(x)));
        tensors.put("t", new Tensor(DType.F32, new long[] {64, 5}, MemorySegment.ofArray(t)));
        SafetensorsWriter.write(zero, tensors, Map.of());
        run = mxd(trainArgs(zero.getParent().getParent(), dir.resolve("x"), "--tokens", "64"));
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("000.safetensors row 10"), run.err());
    }

    // ---- the real model: demo and eval's embedding cosine --------------------------------------------------

    @Test
    void demoRunsEndToEndOnTheRealModelAtATinySize() throws Exception {
        Path out = dir.resolve("demo");
        Run run = mxd("demo", "--tiny", "--out", out.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("   K  kind       params       FVU      NMSE       L0   dead %   emb. cos"), run.out());
        assertTrue(run.out().contains("--tc-width 32"), "how to run the paper's scale: " + run.out());
        Map<?, ?> manifest = Json.parseObject(Files.readString(out.resolve("activations/manifest.json")), "manifest");
        assertEquals("all-MiniLM-L6-v2", manifest.get("model"));
        assertEquals(384, manifest.get("input_dim"));
        List<?> rows = (List<?>) Json.parse(Files.readString(out.resolve("results.json")), "results.json");
        assertEquals(6, rows.size(), rows.toString());
        for (Object row : rows) {
            Map<?, ?> r = (Map<?, ?>) row;
            for (String key : new String[] {"kind", "k", "params", "fvu", "nmse", "l0", "dead_fraction", "embedding_cosine"}) {
                assertTrue(r.containsKey(key), key + " in " + r);
            }
            double cos = ((Number) r.get("embedding_cosine")).doubleValue();
            assertTrue(cos > 0 && cos <= 1, r.toString());
            assertTrue(Files.isRegularFile(out.resolve("models").resolve(r.get("kind") + "-k" + r.get("k"))
                    .resolve("cfg.json")), r.toString());
        }
        byte[] png = Files.readAllBytes(out.resolve("frontier.png"));
        assertEquals("\u0089PNG", new String(png, 0, 4, StandardCharsets.ISO_8859_1));

        Run eval = mxd("eval", "--model", out.resolve("models/mxd-k8").toString(), "--data",
                out.resolve("activations").toString(), "--json", "--cosine-docs", "3", "--backend", "cpu");
        assertEquals(0, eval.exit(), eval.err());
        Map<?, ?> e = Json.parseObject(eval.out(), "eval --json");
        assertEquals(3, e.get("cosine_documents"));
        double cos = ((Number) e.get("embedding_cosine")).doubleValue();
        assertTrue(cos > 0 && cos <= 1, eval.out());
        assertEquals("real", e.get("splice"));
        Map<?, ?> d = (Map<?, ?>) e.get("downstream");
        assertEquals(cos, ((Number) d.get("cosine_replaced")).doubleValue(), 0);
        double zero = ((Number) d.get("cosine_zero_ablation")).doubleValue();
        assertEquals((cos - zero) / (1 - zero), ((Number) d.get("score_zero_ablation")).doubleValue(), 1e-12);
        assertTrue(d.containsKey("recall_at_10") && d.get("recall_at_10") == null, "3 documents: no recall@10 " + d);
        assertTrue(((Number) d.get("nmse_cls")).doubleValue() > 0, d.toString());
        for (String key : new String[] {"dense_fraction", "l2_ratio", "relative_reconstruction_bias"}) {
            assertTrue(e.get(key) instanceof Number, key + " in " + e);
        }
    }
}
