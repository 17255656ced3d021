package dev.mxd.train;

import static dev.mxd.train.TrainingTestData.teacherData;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's own logic on the oracle's kernels: resuming with other settings refused, metrics read on another
 * thread, a non-finite loss, bad data. What every backend's kernels must give the trainer is {@link TrainerContract}.
 */
class TrainerTest {
    private static final MxdConfig CFG = MxdConfig.mxd(6, 8, 12, 5, 3, Activation.GELU, false, false);

    @TempDir
    Path dir;

    private static TrainingOptions.Builder options(int steps) {
        return TrainingOptions.builder(16, 16L * steps).lr(3e-3).warmupSteps(3).seed(5).shuffle(4, 5);
    }

    @Test
    void resumingWithOtherSettingsIsRefused() throws IOException {
        ActivationSource data = teacherData(CFG, 1, 100, 0);
        Path ck = dir.resolve("state.safetensors");
        try (MxdModel model = ReferenceInit.create(CFG, true, 7);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, data, options(4).checkpoints(2, ck).build(), null)) {
            trainer.runSteps(2);
        }
        try (MxdModel model = MxdModel.zeros(TrainingCheckpoint.config(ck));
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, data, options(4).lr(1e-3).checkpoints(2, ck).build(), null)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer.restore(ck));
            assertTrue(e.getMessage().contains("lr = 0.003") && e.getMessage().contains("0.001"), e.getMessage());
        }
        MxdConfig other = MxdConfig.mxd(6, 8, 13, 5, 3, Activation.GELU, false, false);
        try (MxdModel model = MxdModel.zeros(other);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, teacherData(other, 1, 50, 0), options(4).build(), null)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer.restore(ck));
            assertTrue(e.getMessage().contains("N 12") && e.getMessage().contains("N 13"), e.getMessage());
        }
    }

    /**
     * A reader polling {@link TrainingListener.Latest} on another thread while the trainer runs sees whole steps
     * only: tokens, learning rate and batch size agree with the step they came with, steps only go forward, and both
     * threads end within a bound.
     */
    @Test
    void aMetricsReaderOnAnotherThreadSeesNoTornValues() throws Exception {
        ActivationSource data = teacherData(CFG, 3, 200, 0);
        TrainingOptions opts = options(400).build();
        TrainingListener.Latest latest = new TrainingListener.Latest(null);
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.ExecutorService reader = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (MxdModel model = ReferenceInit.create(CFG, true, 7);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, data, opts, latest)) {
            java.util.concurrent.Future<?> seen = reader.submit(() -> {
                long last = 0;
                while (!done.get()) {
                    TrainingListener.StepReport r = latest.step();
                    if (r == null) {
                        continue;
                    }
                    assertTrue(r.step() >= last, "step went back from " + last + " to " + r.step());
                    assertEquals(r.step() * opts.batchTokens(), r.tokens(), "tokens of step " + r.step());
                    assertEquals(trainer.schedule().forUpdate(r.step()), r.lr(), "lr of step " + r.step());
                    assertEquals(opts.batchTokens(), r.batch().tokens(), "batch of step " + r.step());
                    assertEquals(400, r.steps());
                    last = r.step();
                    reads.incrementAndGet();
                }
                return null;
            });
            trainer.run();
            done.set(true);
            seen.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(400, latest.step().step());
            assertTrue(reads.get() > 0, "the reader never saw a step");
        } finally {
            done.set(true);
            reader.shutdownNow();
        }
    }

    @Test
    void aNonFiniteLossStopsNamingTheStepAndKeepsTheLastCheckpoint() throws IOException {
        ActivationSource clean = teacherData(CFG, 2, 96, 0);
        float[] x = new float[96 * 6], t = new float[96 * 5];
        clean.train().read(0, 96, x, t, 0);
        x[16 * 2 * 6 + 5 * 6 + 1] = Float.NaN;  // step 3 (rows 32..47) in order
        ActivationSource data = ActivationSource.inMemory(6, 5, x, t, new float[0], new float[0]);
        Path ck = dir.resolve("state.safetensors");
        try (MxdModel model = ReferenceInit.create(CFG, true, 7);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, data, options(6).inOrder().checkpoints(2, ck).build(), null)) {
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, trainer::run);
            assertEquals(3, e.step());
            assertTrue(e.getMessage().contains("step 3") && e.getMessage().contains(ck.toString())
                    && e.getMessage().contains("at step 2"), e.getMessage());
            assertEquals(2, trainer.step());
        }
        try (MxdModel model = MxdModel.zeros(TrainingCheckpoint.config(ck));
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, data, options(6).inOrder().checkpoints(2, ck).build(), null)) {
            trainer.restore(ck);
            assertEquals(2, trainer.step());
            for (Tensor w : model.tensors().values()) {
                for (long i = 0; i < w.elementCount(); i++) {
                    assertTrue(Float.isFinite(w.data().getAtIndex(Tensor.F32_LE, i)));
                }
            }
        }
    }

    @Test
    void badDataIsNamed() {
        ActivationSource clean = teacherData(CFG, 3, 64, 0);
        float[] x = new float[64 * 6], t = new float[64 * 5];
        clean.train().read(0, 64, x, t, 0);
        java.util.Arrays.fill(t, 20 * 5, 21 * 5, 0f);
        ActivationSource zeroRow = ActivationSource.inMemory(6, 5, x, t, new float[0], new float[0]);
        try (MxdModel model = ReferenceInit.create(CFG, true, 7);
             OracleTrainingKernels k = new OracleTrainingKernels(model)) {
            try (Trainer trainer = new Trainer(k, zeroRow, options(4).inOrder().build(), null)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, trainer::run);
                assertTrue(e.getMessage().contains("train row 20") && e.getMessage().contains("step 2"), e.getMessage());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(k,
                    teacherData(MxdConfig.mxd(7, 8, 12, 5, 3, Activation.GELU, false, false), 1, 10, 0),
                    options(4).build(), null));
            assertTrue(e.getMessage().contains("d_in = 6") && e.getMessage().contains("7"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Trainer(k, clean,
                    options(4).evaluation(2, 0).build(), null));
            assertTrue(e.getMessage().contains("eval"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Trainer(k, ActivationSource.inMemory(6, 5,
                    new float[0], new float[0], new float[0], new float[0]), options(4).build(), null));
            assertTrue(e.getMessage().contains("empty"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> TrainingOptions.builder(16, 8).build());
        assertThrows(IllegalArgumentException.class, () -> TrainingOptions.builder(16, 160).schedule("linearwarmupdecay")
                .warmupSteps(10).build());
        assertThrows(IllegalArgumentException.class, () -> TrainingOptions.builder(16, 160).checkpoints(2, null).build());
    }
}
