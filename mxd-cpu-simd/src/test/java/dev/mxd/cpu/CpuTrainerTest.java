package dev.mxd.cpu;

import static dev.mxd.train.TrainingTestData.bytes;
import static dev.mxd.train.TrainingTestData.teacherData;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.ActivationSource;
import dev.mxd.train.ReferenceInit;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainerContract;
import dev.mxd.train.TrainingOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The trainer's contract ({@link TrainerContract}) on the cpu kernels, and training that does not depend on the
 * size of the cpu backend's worker pool.
 */
class CpuTrainerTest extends TrainerContract {
    @Override
    protected Backend backend() {
        return new CpuBackend();
    }

    /**
     * The same steps on pools of 1, 2 and 3 participants end on the same bits: the contract resume relies on when a
     * run is continued with another {@code mxd.threads}. The batch spans several row blocks and N several column
     * blocks, so each pool splits the work differently.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mxd", "tc", "stc"})
    void stepsDoNotDependOnTheThreadCount(String kind) {
        MxdConfig cfg = switch (kind) {
            case "mxd" -> MxdConfig.mxd(14, 24, 2500, 10, 4, Activation.GELU, true, false);
            case "tc" -> MxdConfig.transcoder(14, 24, 10, 4, Activation.GELU, false);
            default -> MxdConfig.skipTranscoder(14, 24, 10, 4, Activation.SILU, true);
        };
        ActivationSource data = teacherData(MxdConfig.mxd(14, 24, 40, 10, 4, Activation.GELU, false, false), 2, 1500, 0);
        byte[][] runs = new byte[3][];
        for (int threads = 1; threads <= 3; threads++) {
            WorkerPool pool = WorkerPool.withParallelism(threads);
            try (MxdModel model = ReferenceInit.create(cfg, !kind.equals("stc"), 4);
                 CpuTrainingKernels k = new CpuTrainingKernels(model, Kernels.get(), pool);
                 Trainer trainer = new Trainer(k, data, TrainingOptions.builder(450, 450L * 3).lr(1e-2).warmupSteps(1)
                         .seed(3).build(), null)) {
                trainer.run();
                runs[threads - 1] = bytes(model);
            } finally {
                pool.shutdown();
            }
        }
        assertArrayEquals(runs[0], runs[1], kind + ": 1 and 2 threads differ");
        assertArrayEquals(runs[0], runs[2], kind + ": 1 and 3 threads differ");
    }
}
