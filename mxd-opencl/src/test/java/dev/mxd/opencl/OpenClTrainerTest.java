package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ConfigJson;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.oracle.OracleMxd;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.ActivationSource;
import dev.mxd.train.Metrics;
import dev.mxd.train.ReferenceInit;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainingCheckpoint;
import dev.mxd.train.TrainingKernels;
import dev.mxd.train.TrainingListener;
import dev.mxd.train.TrainingOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The backend-neutral {@link Trainer} on the OpenCL kernels: the PyTorch 5-step fixture of mxd-api
 * ({@code tools/fixtures/make_train_fixture.py}), resume from a checkpoint, and a student learning its teacher as
 * the oracle trainer does.
 */
class OpenClTrainerTest {
    /** The oracle trainer's tolerance against PyTorch (TrainingFixtureTest). */
    private static final double WEIGHT_TOLERANCE = 2e-6;
    private static final Path FIXTURES = Path.of("..", "mxd-api", "src", "test", "resources", "fixtures", "train");
    private static OpenClBackend backend;

    @TempDir
    Path dir;

    @BeforeAll
    static void device() {
        backend = OpenClTestSupport.backend();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mxd", "tc"})
    void openClTrainerLandsOnTheReferencesWeights(String name) throws Exception {
        Path file = FIXTURES.resolve(name + ".safetensors");
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
                try (TrainingKernels kernels = backend.kernels(model);
                     Trainer trainer = new Trainer(kernels, data, options, new TrainingListener() {
                         @Override
                         public void onStep(StepReport report) {
                             reports.add(report);
                         }
                     })) {
                    trainer.run();
                    trainer.syncModel();
                }
                assertEquals(steps, reports.size());
                for (int s = 0; s < steps; s++) {
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
                System.out.printf("opencl %s: max |opencl − torch| = %.3g after %d steps (largest move %.3g)%n", name,
                        worst, steps, moved);
            }
        }
    }

    private static final MxdConfig CFG = MxdConfig.mxd(14, 24, 40, 10, 4, Activation.GELU, false, false);

    /** (x, teacher(x)) pairs of a random teacher of the same config, computed by the oracle. */
    static ActivationSource teacherData(MxdConfig cfg, long seed, int train, int eval) {
        try (MxdModel teacher = MxdModel.random(cfg, seed)) {
            OracleMxd oracle = new OracleMxd(teacher);
            SplittableRandom r = new SplittableRandom(seed + 1);
            float[][] xs = new float[2][], ts = new float[2][];
            int[] sizes = {train, eval};
            for (int s = 0; s < 2; s++) {
                float[] x = new float[sizes[s] * cfg.inputDim()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                double[] y = oracle.forward(x, sizes[s]).y();
                float[] t = new float[y.length];
                for (int i = 0; i < y.length; i++) {
                    t[i] = (float) y[i];
                }
                xs[s] = x;
                ts[s] = t;
            }
            return ActivationSource.inMemory(cfg.inputDim(), cfg.outputDim(), xs[0], ts[0], xs[1], ts[1]);
        }
    }

    private static byte[] bytes(MxdModel m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Tensor t : m.tensors().values()) {
            out.writeBytes(t.data().toArray(ValueLayout.JAVA_BYTE));
        }
        return out.toByteArray();
    }

    private static TrainingOptions.Builder options(int steps) {
        return TrainingOptions.builder(64, 64L * steps).lr(3e-3).warmupSteps(3).seed(5).shuffle(16, 5)
                .evaluation(5, 0).deadWindow(256);
    }

    /** A run stopped at a checkpoint and resumed (new kernels, new context) ends on the uninterrupted run's bits. */
    @Test
    void resumeContinuesBitIdentically() throws IOException {
        ActivationSource data = teacherData(CFG, 1, 900, 100);
        byte[] straight;
        try (MxdModel model = ReferenceInit.create(CFG, true, 7);
             TrainingKernels k = backend.kernels(model);
             Trainer trainer = new Trainer(k, data, options(20).build(), null)) {
            trainer.run();
            trainer.syncModel();
            straight = bytes(model);
        }
        Path ck = dir.resolve("state.safetensors");
        TrainingOptions interrupted = options(20).checkpoints(10, ck).build();
        try (MxdModel model = ReferenceInit.create(CFG, true, 7);
             TrainingKernels k = backend.kernels(model);
             Trainer trainer = new Trainer(k, data, interrupted, null)) {
            assertEquals(10, trainer.runSteps(10));
            assertTrue(Files.exists(ck));
        }
        try (MxdModel model = MxdModel.zeros(TrainingCheckpoint.config(ck));
             TrainingKernels k = backend.kernels(model);
             Trainer trainer = new Trainer(k, data, interrupted, null)) {
            trainer.restore(ck);
            trainer.run();
            trainer.syncModel();
            assertEquals(20, trainer.step());
            assertArrayEquals(straight, bytes(model), "resumed weights differ from the uninterrupted run's");
        }
    }

    /**
     * A teacher with K = N (routing by relu alone, so continuous; see mxd-api's TeacherStudentTest) is learnt to
     * FVU &lt; 0.05 on held-out data, within 0.01 of the float64 oracle trainer's FVU over the same steps.
     */
    @Test
    void studentLearnsTheTeacherAsTheOracleDoes() {
        MxdConfig cfg = MxdConfig.mxd(8, 12, 8, 6, 8, Activation.GELU, false, false);
        ActivationSource data = teacherData(cfg, 11, 4096, 512);
        double[] fvu = new double[2];
        for (int run = 0; run < 2; run++) {
            try (MxdModel model = ReferenceInit.create(cfg, true, 3);
                 TrainingKernels k = run == 0 ? backend.kernels(model) : new OracleTrainingKernels(model);
                 Trainer trainer = new Trainer(k, data, TrainingOptions.builder(64, 64L * 1600).lr(1e-2)
                         .warmupSteps(50).seed(1).build(), null)) {
                double before = trainer.evaluate().fvu();
                trainer.run();
                Metrics.Summary after = trainer.evaluate();
                fvu[run] = after.fvu();
                System.out.printf("%s teacher-student: FVU %.4f -> %.4f, L0 %.2f%n", run == 0 ? "opencl" : "oracle",
                        before, after.fvu(), after.l0());
            }
        }
        assertTrue(fvu[0] < 0.05, "held-out FVU on opencl " + fvu[0]);
        assertEquals(fvu[1], fvu[0], 0.01, "held-out FVU on opencl against the oracle trainer's");
    }
}
