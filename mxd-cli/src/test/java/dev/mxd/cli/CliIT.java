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

    /** {@code java <the project's JVM flags> -jar mxd-cli.jar args...}. */
    static List<String> jarCommand(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(System.getProperty("mxd.jvmFlags", "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED").split(" ")));
        cmd.add("-jar");
        cmd.add(JAR.toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Run mxd(String... args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(jarCommand(args)).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
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
        Path out = dir.resolve("launcher.out"), err = dir.resolve("launcher.err");
        ProcessBuilder pb = launcherProcess(args).redirectOutput(out.toFile()).redirectError(err.toFile());
        try {
            Process p = pb.start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "./mxd did not finish");
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.delete(dir.resolve("checkout/mxd-cli/target"));   // the link, not this module's target/ (JUnit warns about links it must clean up)
        }
    }

    /** The launcher copy described at {@link #launcher}, ready to start; the caller deletes checkout/mxd-cli/target. */
    private ProcessBuilder launcherProcess(String... args) throws IOException {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        Path root = dir.resolve("checkout");
        Files.createDirectories(root.resolve("tools"));
        Files.createDirectories(root.resolve("mxd-cli"));
        Files.copy(repo.resolve("mxd"), root.resolve("mxd"));
        Files.copy(repo.resolve("tools/lib.sh"), root.resolve("tools/lib.sh"));
        Files.copy(repo.resolve("pom.xml"), root.resolve("pom.xml"));
        Files.createSymbolicLink(root.resolve("mxd-cli/target"), Path.of("target").toAbsolutePath());
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
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("PATH", bin + ":" + path);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb;
    }

    /**
     * {@code kill -9} of the launcher ends its JVM too. It used to run on as an orphan: a training killed and
     * restarted with --resume then had two trainers writing the same checkpoint.
     */
    @Test
    void killingTheLauncherEndsItsJvm() throws Exception {
        Path data = writeActivations("acts", 1000, 0, false);
        Path out = dir.resolve("killed");
        ProcessBuilder pb = launcherProcess(trainArgs(data, out, "--tokens", "64000000", "--checkpoint-every", "1"))
                .redirectOutput(dir.resolve("killed.out").toFile()).redirectError(dir.resolve("killed.err").toFile());
        try {
            Process script = pb.start();
            ProcessHandle java = null;
            for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); java == null; ) {
                assertTrue(script.isAlive(), () -> "./mxd train ended early: " + read(dir.resolve("killed.err")));
                assertTrue(System.nanoTime() < until, "no checkpoint written within 60 s");
                if (Files.exists(out.resolve("checkpoint.safetensors"))) {
                    java = script.descendants().filter(h -> h.info().command().orElse("").endsWith("java"))
                            .findFirst().orElse(null);
                }
                Thread.sleep(50);
            }
            script.destroyForcibly();   // SIGKILL: no trap runs
            assertTrue(script.waitFor(10, TimeUnit.SECONDS));
            boolean ended = java.onExit().completeOnTimeout(null, 10, TimeUnit.SECONDS).join() != null || !java.isAlive();
            if (!ended) {
                java.destroyForcibly();
            }
            assertTrue(ended, "the JVM ran on after its launcher was killed");
        } finally {
            Files.delete(dir.resolve("checkout/mxd-cli/target"));
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
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
        return writeActivations(dir.resolve(name), trainTokens, evalTokens, withEval);
    }

    /** {@link #writeActivations(String, int, int, boolean)} into {@code data}; other CLI tests train on it too. */
    static Path writeActivations(Path data, int trainTokens, int evalTokens, boolean withEval) throws IOException {
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

    static String[] trainArgs(Path data, Path out, String... more) {
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

        // the experts: probing with detected labels (the tiny harvest has a document or two per language), steering
        String acts = out.resolve("activations").toString();
        Run probe = mxd("probe", "--models", out.resolve("models/mxd-k8").toString(),
                out.resolve("models/tc-k8").toString(), "--data", acts, "--json", "--min-docs", "1");
        assertEquals(0, probe.exit(), probe.err());
        Map<?, ?> p = Json.parseObject(probe.out(), "probe --json");
        assertTrue(((String) p.get("labels")).startsWith("detected by Lingua"), probe.out());
        assertTrue(!((List<?>) p.get("languages")).isEmpty(), probe.out());
        assertEquals(2, ((List<?>) p.get("models")).size(), probe.out());
        Run steer = mxd("steer", "--model", out.resolve("models/mxd-k8").toString(), "--data", acts, "--text",
                "The Commission must answer the question.", "--expert", "3", "--value", "0");
        assertEquals(0, steer.exit(), steer.err());
        assertTrue(steer.out().contains("cosine(steered, unsteered splice) 1.000000"), steer.out());
        Run bad = mxd("steer", "--model", out.resolve("models/mxd-k8").toString(), "--data", acts, "--text", "x",
                "--expert", "99999999", "--value", "1");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().startsWith("mxd: steering expert 99999999 is out of range") && bad.err().lines().count() == 1,
                bad.err());
    }

    // ---- reading the experts: harvest --corpus, stats, top, codes, encode and decode ----------------------------

    /** 29 documents and an empty line: English, HTML, French, Greek, Russian, Chinese, Arabic and an emoji. */
    private static List<String> ownCorpus() {
        List<String> lines = new ArrayList<>();
        String[] base = {
                "The Commission has presented its proposal on the internal market.",
                "<p>Mr President, <b>the vote</b> will take place <a href=\"x\">tomorrow</a> at noon.</p>",
                "Le Parlement européen a adopté la résolution à une large majorité.",
                "Το Ευρωπαϊκό Κοινοβούλιο ενέκρινε το ψήφισμα.",
                "Европейский парламент принял резолюцию большинством голосов.",
                "欧洲议会以多数票通过了该决议。",
                "وافق البرلمان الأوروبي على القرار بأغلبية كبيرة.",
                "We welcome the report 😀 and thank the rapporteur for her work on fisheries."};
        for (int i = 0; i < 29; i++) {
            lines.add(base[i % base.length] + (i >= base.length ? " Item " + i + " of the agenda." : ""));
            if (i == 11) {
                lines.add("");
            }
        }
        return lines;
    }

    @Test
    void readingTheExpertsEndToEndOnTheRealModel() throws Exception {
        List<String> lines = ownCorpus();
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, String.join("\n", lines) + "\n");
        Path acts = dir.resolve("acts");
        Run harvest = mxd("harvest", "--corpus", corpus.toString(), "--layer", "3", "--tokens", "100000",
                "--eval-fraction", "0.3", "--out", acts.toString());
        assertEquals(0, harvest.exit(), harvest.err());
        assertTrue(harvest.out().contains("29 documents, 1 empty lines skipped"), harvest.out());
        Map<?, ?> manifest = Json.parseObject(Files.readString(acts.resolve("manifest.json")), "manifest");
        assertEquals(corpus.toAbsolutePath().normalize().toString(), manifest.get("corpus_file"));
        assertEquals(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(corpus))), manifest.get("corpus_sha256"));
        long evalTokens = ((Number) ((Map<?, ?>) manifest.get("tokens")).get("eval")).longValue();
        assertTrue(evalTokens > 0, manifest.toString());

        Path model = dir.resolve("mxd");
        Run train = mxd("train", "--data", acts.toString(), "--kind", "mxd", "--k", "4", "--hidden", "16", "--experts",
                "24", "--batch", "32", "--out", model.toString(), "--backend", "cpu");
        assertEquals(0, train.exit(), train.err());
        Map<?, ?> recorded = (Map<?, ?>) Json.parseObject(Files.readString(model.resolve("cfg.json")), "cfg").get("harvest");
        assertEquals(Map.of("model", "all-MiniLM-L6-v2", "layer", 3, "corpus", manifest.get("corpus"), "corpus_file",
                manifest.get("corpus_file"), "corpus_sha256", manifest.get("corpus_sha256"), "data",
                acts.toAbsolutePath().normalize().toString()), recorded);

        // stats: the summary beside the tensors, over the eval split
        Path stats = dir.resolve("stats.safetensors");
        Run st = mxd("stats", "--model", model.toString(), "--data", acts.toString(), "--out", stats.toString(),
                "--backend", "cpu");
        assertEquals(0, st.exit(), st.err());
        Map<?, ?> summary = Json.parseObject(Files.readString(dir.resolve("stats.json")), "stats.json");
        assertEquals(evalTokens, ((Number) summary.get("tokens")).longValue());
        assertEquals(24, summary.get("experts"));
        assertEquals("eval", summary.get("split"));

        // top, one expert: exactly one JSON object, examples by value, contexts cut from the document as written
        int expert = ((Number) ((Map<?, ?>) ((List<?>) summary.get("most_frequent")).get(0)).get("expert")).intValue();
        Run top = mxd("top", "--model", model.toString(), "--data", acts.toString(), "--expert", "" + expert, "--m", "5",
                "--json", "--backend", "cpu");
        assertEquals(0, top.exit(), top.err());
        assertEquals(1, top.out().lines().count(), top.out());
        Map<?, ?> one = Json.parseObject(top.out(), "top --json");
        assertEquals(expert, one.get("expert"));
        List<?> examples = (List<?>) one.get("examples");
        assertEquals(5, examples.size(), one.toString());
        double previous = Double.POSITIVE_INFINITY;
        for (Object o : examples) {
            Map<?, ?> x = (Map<?, ?>) o;
            double v = ((Number) x.get("value")).doubleValue();
            assertTrue(v <= previous, "sorted by value: " + examples);
            previous = v;
            Map<?, ?> c = (Map<?, ?>) x.get("context");
            String line = lines.get(((Number) x.get("doc")).intValue());
            String around = c.get("before") + "" + c.get("text") + c.get("after");
            assertTrue(line.contains(around) && !((String) c.get("text")).isEmpty(), around + " in " + line);
        }

        // top --all: every expert, the same objects
        Path all = dir.resolve("top.jsonl");
        Run topAll = mxd("top", "--model", model.toString(), "--data", acts.toString(), "--all", "--m", "5", "--out",
                all.toString(), "--backend", "cpu");
        assertEquals(0, topAll.exit(), topAll.err());
        List<String> jsonl = Files.readAllLines(all);
        assertEquals(25, jsonl.size());
        assertEquals("mxd-top-contexts/1", Json.parseObject(jsonl.get(0), "header").get("format"));
        assertEquals(one, Json.parseObject(jsonl.get(1 + expert), "line of expert " + expert));

        // codes: the layer from cfg.json, one object with K codes per real token
        Run codes = mxd("codes", "--model", model.toString(), "--text", "Le vote 😀 aura lieu demain.", "--json",
                "--backend", "cpu");
        assertEquals(0, codes.exit(), codes.err());
        assertEquals(1, codes.out().lines().count(), codes.out());
        List<?> tokens = (List<?>) Json.parseObject(codes.out(), "codes --json").get("tokens");
        StringBuilder texts = new StringBuilder();
        for (Object o : tokens) {
            Map<?, ?> t = (Map<?, ?>) o;
            assertEquals(4, ((List<?>) t.get("codes")).size(), t.toString());
            texts.append(t.get("text"));
        }
        assertEquals("Levote😀auralieudemain.", texts.toString());

        // encode then decode equals forward; a widened, steered table decodes as the oracle says
        Path x = acts.resolve("eval/00000.safetensors");
        Path c = dir.resolve("codes.safetensors"), y = dir.resolve("y.safetensors"), f = dir.resolve("f.safetensors");
        assertEquals(0, mxd("encode", "--model", model.toString(), "--input", x.toString(), "--output", c.toString(),
                "--backend", "cpu").exit());
        assertEquals(0, mxd("decode", "--model", model.toString(), "--input", x.toString(), "--codes", c.toString(),
                "--output", y.toString(), "--backend", "cpu").exit());
        assertEquals(0, mxd("forward", "--model", model.toString(), "--input", x.toString(), "--output", f.toString(),
                "--backend", "cpu").exit());
        try (SafetensorsFile cf = SafetensorsFile.open(c); SafetensorsFile yf = SafetensorsFile.open(y);
             SafetensorsFile ff = SafetensorsFile.open(f)) {
            assertEquals(-1L, cf.tensor("codes.index").data().mismatch(ff.tensor("codes.index").data()));
            assertEquals(-1L, cf.tensor("codes.value").data().mismatch(ff.tensor("codes.value").data()));
            assertEquals(-1L, yf.tensor("y").data().mismatch(ff.tensor("y").data()), "decode(encode(x)) = forward(x)");
        }
        steeredDecodeMatchesTheOracle(model, x, c);

        // bad input: one line, exit 1, nothing written
        Run outOfRange = mxd("top", "--model", model.toString(), "--data", acts.toString(), "--expert", "24");
        assertEquals(1, outOfRange.exit(), outOfRange.err());
        assertEquals("mxd: --expert 24 is out of range [0, 24) (n_experts of this MXD)\n", outOfRange.err());
        String fixture = Path.of("..", "mxd-api", "src", "test", "resources", "fixtures", "forward", "mxd_gelu_glu_skip")
                .toAbsolutePath().toString();
        Path stats2 = dir.resolve("stats2.safetensors");
        Run widths = mxd("stats", "--model", fixture, "--data", acts.toString(), "--out", stats2.toString());
        assertEquals(1, widths.exit(), widths.err());
        assertEquals(1, widths.err().lines().count(), widths.err());
        assertTrue(widths.err().contains("has x rows of 384") && widths.err().contains("d_in = 7"), widths.err());
        assertTrue(Files.notExists(stats2) && Files.notExists(dir.resolve("stats2.json")), "nothing written");
        Run noManifest = mxd("codes", "--model", fixture, "--text", "hello");
        assertEquals(1, noManifest.exit(), noManifest.err());
        assertEquals(1, noManifest.err().lines().count(), noManifest.err());
        assertTrue(noManifest.err().contains("records no harvest in its cfg.json"), noManifest.err());
        assertEquals(2, mxd("top", "--model", model.toString(), "--data", acts.toString(), "--all").exit());
    }

    /** Token 0 gets an expert outside its top K with value 5 and token 1 loses its first expert (set to 0). */
    private void steeredDecodeMatchesTheOracle(Path model, Path x, Path codesFile) throws Exception {
        Path steered = dir.resolve("steered.safetensors"), y = dir.resolve("ys.safetensors");
        float[] xs;
        int tokens, k;
        dev.mxd.Codes table;
        try (SafetensorsFile xf = SafetensorsFile.open(x); SafetensorsFile cf = SafetensorsFile.open(codesFile)) {
            Tensor xt = xf.tensor("x");
            tokens = (int) xt.shape()[0];
            xs = new float[tokens * 384];
            MemorySegment.copy(xt.data(), Tensor.F32_LE, 0, xs, 0, xs.length);
            k = (int) cf.tensor("codes.index").shape()[1];
            table = dev.mxd.Codes.onHeap(tokens, k);
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < k; j++) {
                    table.set(t, j, cf.tensor("codes.index").data().getAtIndex(Tensor.I32_LE, (long) t * k + j),
                            cf.tensor("codes.value").data().getAtIndex(Tensor.F32_LE, (long) t * k + j));
                }
            }
        }
        int outside = 0;
        while (contains(table, 0, outside)) {
            outside++;
        }
        dev.mxd.Codes edited = dev.mxd.Steering.none().add(outside, 5f).apply(table, t -> t == 0);
        edited = dev.mxd.Steering.none().set(table.index(1, 0), 0f).apply(edited, t -> t == 1);
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        out.put("codes.index", new Tensor(DType.I32, new long[] {tokens, edited.width()}, edited.indexSegment()));
        out.put("codes.value", new Tensor(DType.F32, new long[] {tokens, edited.width()}, edited.valueSegment()));
        SafetensorsWriter.write(steered, out, Map.of());
        Run run = mxd("decode", "--model", model.toString(), "--input", x.toString(), "--codes", steered.toString(),
                "--output", y.toString(), "--backend", "cpu");
        assertEquals(0, run.exit(), run.err());
        try (MxdModel m = ModelFiles.load(model); SafetensorsFile yf = SafetensorsFile.open(y)) {
            float[] ys = new float[tokens * m.config().outputDim()];
            MemorySegment.copy(yf.tensor("y").data(), Tensor.F32_LE, 0, ys, 0, ys.length);
            dev.mxd.oracle.Agreement.requireClose("decode of steered codes", ys,
                    new OracleMxd(m).decode(xs, tokens, OracleMxd.Codes64.of(edited)), m.config().outputDim());
        }

        // an index out of range: one line, exit 1, no output
        dev.mxd.Codes bad = dev.mxd.Steering.none().add(24, 1f).apply(table);
        out.put("codes.index", new Tensor(DType.I32, new long[] {tokens, bad.width()}, bad.indexSegment()));
        out.put("codes.value", new Tensor(DType.F32, new long[] {tokens, bad.width()}, bad.valueSegment()));
        SafetensorsWriter.write(steered, out, Map.of());
        Path none = dir.resolve("none.safetensors");
        Run rejected = mxd("decode", "--model", model.toString(), "--input", x.toString(), "--codes", steered.toString(),
                "--output", none.toString());
        assertEquals(1, rejected.exit(), rejected.err());
        assertEquals("mxd: code index 24 at token 0, slot " + k + " is out of range [0, 24) (n_experts)\n", rejected.err());
        assertTrue(Files.notExists(none), "nothing written");
    }

    private static boolean contains(dev.mxd.Codes codes, int t, int expert) {
        for (int j = 0; j < codes.width(); j++) {
            if (codes.index(t, j) == expert) {
                return true;
            }
        }
        return false;
    }

    @Test
    void harvestRejectsABadCorpusByLine() throws Exception {
        Path out = dir.resolve("acts");
        Path jsonl = dir.resolve("docs.jsonl");
        Files.writeString(jsonl, "{\"text\": \"one\"}\n{\"title\": \"two\"}\n");
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'o', 'k', '\n', '\n', 'd', (byte) 0xE9, 'j', 'a', '\n'});
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n\n");
        Map<Path, String> expected = Map.of(
                jsonl, jsonl + " line 2 has no \"text\" field",
                latin1, latin1 + " line 3 is not valid UTF-8",
                empty, empty + " holds no document (2 empty lines)");
        for (Map.Entry<Path, String> e : expected.entrySet()) {
            Run run = mxd("harvest", "--corpus", e.getKey().toString(), "--layer", "3", "--tokens", "100", "--out",
                    out.toString());
            assertEquals(1, run.exit(), run.err());
            assertEquals(1, run.err().lines().count(), run.err());
            assertTrue(run.err().startsWith("mxd: " + e.getValue()), run.err());
            assertTrue(Files.notExists(out), "nothing written for " + e.getKey());
        }
    }

    // ---- the explorer: explore and serve on a tiny harvest of the real model -------------------------------

    @Test
    void exploreWritesTheSiteAndServeAnswersOnTheRealModel() throws Exception {
        Path data = dir.resolve("acts");
        Run harvest = mxd("harvest", "--layer", "2", "--tokens", "1200", "--out", data.toString());
        assertEquals(0, harvest.exit(), harvest.err());
        Path model = dir.resolve("mxd");
        Run train = mxd("train", "--data", data.toString(), "--kind", "mxd", "--k", "4", "--experts", "40",
                "--hidden", "64", "--tokens", "2048", "--batch", "64", "--out", model.toString(), "--backend", "cpu");
        assertEquals(0, train.exit(), train.err());

        Path site = dir.resolve("site");
        Path stats = dir.resolve("stats.safetensors"), top = dir.resolve("top.jsonl");
        Run explore = mxd("explore", "--model", model.toString(), "--data", data.toString(), "--out", site.toString(),
                "--stats", stats.toString(), "--top", top.toString(), "--backend", "cpu");
        assertEquals(0, explore.exit(), explore.err());
        assertTrue(explore.out().contains("40 expert pages"), explore.out());
        assertTrue(Files.isRegularFile(stats) && Files.isRegularFile(top), "the computed files are written");
        try (var pages = Files.list(site.resolve("experts"))) {
            assertEquals(40, pages.count());
        }
        assertTrue(Files.readString(site.resolve("data/index.js")).contains("\"experts\":40"));
        // Again from the files just written: the same pages.
        String page = Files.readString(site.resolve("experts/0.html"));
        Run again = mxd("explore", "--model", model.toString(), "--data", data.toString(), "--out", site.toString(),
                "--stats", stats.toString(), "--top", top.toString(), "--backend", "cpu");
        assertEquals(0, again.exit(), again.err());
        assertEquals(page, Files.readString(site.resolve("experts/0.html")));

        Path notASite = Files.createDirectories(dir.resolve("notes"));
        Run refused = mxd("explore", "--model", model.toString(), "--data", data.toString(), "--out",
                notASite.toString(), "--stats", stats.toString(), "--top", top.toString());
        assertEquals(1, refused.exit());
        assertEquals(1, refused.err().lines().count(), refused.err());
        assertTrue(refused.err().contains("is not an explorer site"), refused.err());

        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(System.getProperty("mxd.jvmFlags", "--add-modules jdk.incubator.vector").split(" ")));
        cmd.addAll(List.of("-jar", JAR.toString(), "serve", "--model", model.toString(), "--data", data.toString(),
                "--site", site.toString(), "--port", "0", "--held-out", "8", "--backend", "cpu"));
        Process serve = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            java.io.BufferedReader lines = new java.io.BufferedReader(
                    new java.io.InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
            String ready = null;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("mxd explorer: http://127.0.0.1:")) {
                    ready = line;
                    break;
                }
            }
            assertTrue(ready != null, "serve printed no address");
            java.net.URI uri = java.net.URI.create(ready.substring("mxd explorer: ".length()).split(" ")[0]);
            java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
            java.net.http.HttpResponse<String> codes = client.send(java.net.http.HttpRequest.newBuilder(
                            uri.resolve("api/codes")).header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"text\": \"The Parliament voted.\"}"))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, codes.statusCode(), codes.body());
            assertTrue(codes.body().contains("\"text\":\"Parliament\""), codes.body());
            java.net.http.HttpResponse<String> bad = client.send(java.net.http.HttpRequest.newBuilder(
                            uri.resolve("api/steer")).header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"text\": \"a vote\", \"expert\": 40, \"value\": 1, \"mode\": \"add\"}"))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(400, bad.statusCode());
            assertTrue(bad.body().contains("out of range"), bad.body());
            assertEquals(200, client.send(java.net.http.HttpRequest.newBuilder(uri.resolve("experts/3.html")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
        } finally {
            serve.destroy();
            assertTrue(serve.waitFor(30, TimeUnit.SECONDS), "serve did not stop");
        }
    }
}
