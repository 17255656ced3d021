package dev.mxd.train;

import static dev.mxd.train.TrainingTestData.bytes;
import static dev.mxd.train.TrainingTestData.teacherData;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ConfigJson;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.oracle.OracleBackend;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The backend-neutral {@link Trainer} on one backend's {@link TrainingKernels}; each training backend's test
 * extends this class and names its backend. It checks:
 * <ul>
 *   <li>the reference's training step run by PyTorch (float32) for 5 steps from the same weights on the same
 *       batches ({@code tools/fixtures/make_train_fixture.py}: decoder-norm, gradient projection, AdamW and a
 *       {@code constantwithwarmup} schedule): the same learning rates and losses, and the same final weights;</li>
 *   <li>a run stopped at a checkpoint and resumed with new kernels over a new model ends on the uninterrupted
 *       run's bits, dead-expert counters included;</li>
 *   <li>two runs of the same steps from the same start end on the same bits;</li>
 *   <li>a student learns a teacher to a held-out FVU below 0.05, within 0.01 of the float64 oracle trainer's.</li>
 * </ul>
 *
 * <p>Tolerances against PyTorch: every final weight within 2e-6 absolute (lr is 1e-2, so one Adam step moves a
 * weight by about 1e-2; PyTorch's own float32 and float64 runs of the fixture differ by up to 1.4e-7); the learning
 * rates equal to 1e-15; the losses within 1e-5 relative (PyTorch's loss is a float32 sum).
 */
public abstract class TrainerContract {
    private static final double WEIGHT_TOLERANCE = 2e-6;

    /** The backend whose kernels the trainer runs on; it trains ({@link Backend#trains()}). */
    protected abstract Backend backend();

    private TrainingKernels kernels(MxdModel model) {
        return TrainingBackends.kernels(backend(), model);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mxd", "tc"})
    void trainerLandsOnTheReferencesWeights(String name, @TempDir Path dir) throws IOException {
        Path file = dir.resolve(name + ".safetensors");
        // copied out because the fixture is inside mxd-api's test jar when another module runs this
        try (InputStream in = TrainerContract.class.getResourceAsStream("/fixtures/train/" + name + ".safetensors")) {
            assertNotNull(in, "the training fixture " + name);
            Files.copy(in, file);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            MxdConfig cfg = ConfigJson.parse(f.metadata().get("cfg"), file + " cfg");
            int steps = Integer.parseInt(f.metadata().get("steps"));
            int batch = Integer.parseInt(f.metadata().get("batch"));
            boolean normDec = (Boolean) cfg.otherFields().get("norm_dec");
            try (MxdModel model = MxdModel.zeros(cfg)) {
                for (String t : model.tensors().keySet()) {
                    MemorySegment.copy(f.tensor("initial." + t).data(), 0, model.tensor(t).data(), 0,
                            model.tensor(t).data().byteSize());
                }
                float[] x = f.tensor("x").data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                float[] t = f.tensor("t").data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                ActivationSource data = ActivationSource.inMemory(cfg.inputDim(), cfg.outputDim(), x, t,
                        new float[0], new float[0]);
                TrainingOptions options = TrainingOptions.builder(batch, (long) steps * batch)
                        .lr(Double.parseDouble(f.metadata().get("lr")))
                        .schedule(f.metadata().get("lr_scheduler_name"))
                        .warmupSteps(Long.parseLong(f.metadata().get("lr_warm_up_steps")))
                        .decoderNorm(normDec).inOrder().build();
                List<TrainingListener.StepReport> reports = new ArrayList<>();
                // the kernels read the model's parameters when made: after the initial weights are in
                try (TrainingKernels kernels = kernels(model);
                     Trainer trainer = new Trainer(kernels, data, options, new TrainingListener() {
                         @Override
                         public void onStep(StepReport report) {
                             reports.add(report);
                         }
                     })) {
                    trainer.run();
                }
                assertEquals(steps, reports.size());
                for (int s = 0; s < steps; s++) {
                    assertEquals(f.tensor("lr").data().getAtIndex(Tensor.F64_LE, s), reports.get(s).lr(), 1e-15,
                            "lr of step " + (s + 1));
                    double loss = f.tensor("loss").data().getAtIndex(Tensor.F64_LE, s);
                    assertEquals(loss, reports.get(s).batch().loss(), 1e-5 * loss, "loss of step " + (s + 1));
                }
                double worst = 0, moved = 0;
                for (String tn : model.tensors().keySet()) {
                    Tensor ours = model.tensor(tn);
                    Tensor theirs = f.tensor("final." + tn);
                    Tensor start = f.tensor("initial." + tn);
                    for (long i = 0; i < ours.elementCount(); i++) {
                        double a = ours.data().getAtIndex(Tensor.F32_LE, i);
                        double b = theirs.data().getAtIndex(Tensor.F32_LE, i);
                        long at = i;
                        assertEquals(b, a, WEIGHT_TOLERANCE, () -> tn + "[" + at + "] after " + steps + " steps");
                        worst = Math.max(worst, Math.abs(a - b));
                        moved = Math.max(moved, Math.abs(b - start.data().getAtIndex(Tensor.F32_LE, i)));
                    }
                }
                assertTrue(moved > 100 * WEIGHT_TOLERANCE, "the fixture's weights hardly moved: " + moved);
                System.out.printf("%s %s: max |%s − torch| = %.3g after %d steps (largest move %.3g)%n",
                        backend().name(), name, backend().name(), worst, steps, moved);
            }
        }
    }

    /**
     * A run's shape for {@link #resumeContinuesBitIdentically}: the config, its teacher's data and the batch; the
     * shuffle window and the dead-expert window scale with the batch.
     */
    record ResumedRun(MxdConfig cfg, int train, int eval, int batch, int shuffleWindow, int deadWindow) {
        TrainingOptions.Builder options(int steps) {
            return TrainingOptions.builder(batch, (long) batch * steps).lr(3e-3).warmupSteps(3).seed(5)
                    .shuffle(shuffleWindow, 5).evaluation(5, 0).deadWindow(deadWindow);
        }
    }

    static Stream<ResumedRun> resumedRuns() {
        return Stream.of(
                new ResumedRun(MxdConfig.mxd(6, 8, 12, 5, 3, Activation.GELU, false, false), 200, 40, 16, 4, 64),
                new ResumedRun(MxdConfig.mxd(14, 24, 40, 10, 4, Activation.GELU, false, false), 900, 100, 64, 16,
                        256));
    }

    /**
     * A run stopped at its checkpoint of step 10 and resumed (new kernels over a model made from the checkpoint's
     * config) ends on the uninterrupted run's bits; the restored trainer is at step 10 and its token count.
     */
    @ParameterizedTest
    @MethodSource("resumedRuns")
    void resumeContinuesBitIdentically(ResumedRun run, @TempDir Path dir) throws IOException {
        ActivationSource data = teacherData(run.cfg(), 1, run.train(), run.eval());
        byte[] straight;
        long[] straightDead;
        try (MxdModel model = ReferenceInit.create(run.cfg(), true, 7);
             TrainingKernels k = kernels(model);
             Trainer trainer = new Trainer(k, data, run.options(20).build(), null)) {
            trainer.run();
            assertEquals(20, trainer.step());
            straight = bytes(model);
            straightDead = trainer.deadExperts().lastFired();
        }
        Path ck = dir.resolve("run/state.safetensors");
        Files.createDirectories(ck.getParent());
        TrainingOptions interrupted = run.options(20).checkpoints(10, ck).build();
        try (MxdModel model = ReferenceInit.create(run.cfg(), true, 7);
             TrainingKernels k = kernels(model);
             Trainer trainer = new Trainer(k, data, interrupted, null)) {
            assertEquals(10, trainer.runSteps(10));
            assertTrue(Files.exists(ck));
        }
        try (MxdModel model = MxdModel.zeros(TrainingCheckpoint.config(ck));
             TrainingKernels k = kernels(model);
             Trainer trainer = new Trainer(k, data, interrupted, null)) {
            trainer.restore(ck);
            assertEquals(10, trainer.step());
            assertEquals(10L * run.batch(), trainer.tokens());
            trainer.run();
            assertEquals(20, trainer.step());
            assertArrayEquals(straight, bytes(model), "resumed weights differ from the uninterrupted run's");
            assertArrayEquals(straightDead, trainer.deadExperts().lastFired());
        }
    }

    /**
     * Two runs of the same steps from the same start, in one JVM (so with the same {@code mxd.threads}), end on the
     * same bits: every step (decoder-norm, forward, backward, projection, AdamW) is deterministic. N spans several
     * column blocks of the cpu backend's decoder-norm passes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mxd", "tc"})
    void stepsAreBitIdenticalFromRunToRun(String kind) {
        MxdConfig cfg = kind.equals("mxd") ? MxdConfig.mxd(14, 24, 2500, 10, 4, Activation.GELU, true, false)
                : MxdConfig.transcoder(14, 24, 10, 4, Activation.GELU, false);
        ActivationSource data = teacherData(MxdConfig.mxd(14, 24, 40, 10, 4, Activation.GELU, false, false), 2, 600, 0);
        byte[][] runs = new byte[2][];
        for (int run = 0; run < 2; run++) {
            try (MxdModel model = ReferenceInit.create(cfg, true, 4);
                 TrainingKernels k = kernels(model);
                 Trainer trainer = new Trainer(k, data, TrainingOptions.builder(100, 100L * 6).lr(1e-2).warmupSteps(2)
                         .seed(3).build(), null)) {
                trainer.run();
                runs[run] = bytes(model);
            }
        }
        assertArrayEquals(runs[0], runs[1], kind + ": two runs of the same steps differ");
    }

    private static final MxdConfig LEARNT = MxdConfig.mxd(8, 12, 8, 6, 8, Activation.GELU, false, false);

    /**
     * A teacher with K = N (routing by relu alone, so continuous; see {@code TeacherStudentTest} for why a TopK
     * teacher at tiny sizes is not a fair target) is learnt to FVU &lt; 0.05 on held-out data; a backend other than
     * the oracle lands within 0.01 of the oracle trainer's FVU over the same steps.
     */
    @Test
    void studentLearnsTheTeacher() {
        double fvu = learnTheTeacher(backend());
        assertTrue(fvu < 0.05, "held-out FVU on " + backend().name() + ": " + fvu);
        if (!backend().name().equals(OracleBackend.NAME)) {
            assertEquals(learnTheTeacher(new OracleBackend()), fvu, 0.01,
                    "held-out FVU on " + backend().name() + " against the oracle trainer's");
        }
    }

    private static double learnTheTeacher(Backend backend) {
        ActivationSource data = teacherData(LEARNT, 11, 4096, 512);
        try (MxdModel model = ReferenceInit.create(LEARNT, true, 3);
             TrainingKernels k = TrainingBackends.kernels(backend, model);
             Trainer trainer = new Trainer(k, data, TrainingOptions.builder(64, 64L * 1600).lr(1e-2).warmupSteps(50)
                     .seed(1).build(), null)) {
            double before = trainer.evaluate().fvu();
            trainer.run();
            Metrics.Summary after = trainer.evaluate();
            System.out.printf("%s teacher-student: FVU %.4f -> %.4f, L0 %.2f%n", backend.name(), before, after.fvu(),
                    after.l0());
            return after.fvu();
        }
    }
}
