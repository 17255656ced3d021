package dev.mxd.bench;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.train.ActivationSource;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainingBackends;
import dev.mxd.train.TrainingKernels;
import dev.mxd.train.TrainingListener;
import dev.mxd.train.TrainingOptions;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step of an MxD through the public training API ({@link Trainer} over a backend's
 * {@link TrainingKernels}, data in memory), in tokens per second: the next shuffled batch, decoder-norm, the
 * learning rate, forward and backward, the loss check and metrics, the gradient projection, AdamW, dead-expert
 * tracking. The step of {@code tools/bench/reference_mxd.py train}, which times the reference's PyTorch step on
 * the same shapes. Two shapes, batch 1024 tokens, GELU:
 * <ul>
 *   <li>{@code gpt2}: the paper's GPT-2 layer, I = O = 768, H = 3072, N = 21490, K = 32;</li>
 *   <li>{@code small}: I = O = 128, H = 512, N = 2048, K = 16.</li>
 * </ul>
 * The backend is {@code -Dmxd.backend} (default {@code cpu}). Read the {@code :tokens} rows: that secondary score
 * is tokens per second. Before timing, one step must give a finite loss.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 4)
public class TrainBenchmark {
    /** Tokens per step. */
    static final int BATCH = 1024;
    /** Distinct batches of random data the steps cycle through. */
    static final int BATCHES = 8;

    /** The model, its kernels and the trainer, set up once per trial. */
    @State(Scope.Benchmark)
    public static class Run {
        @Param({"gpt2", "small"})
        public String shape;

        MxdModel model;
        TrainingKernels kernels;
        Trainer trainer;
        double lastLoss = Double.NaN;

        @Setup(Level.Trial)
        public void load() {
            MxdConfig cfg = switch (shape) {
                case "gpt2" -> MxdConfig.mxd(768, 3072, 21490, 768, 32, Activation.GELU, false, false);
                case "small" -> MxdConfig.mxd(128, 512, 2048, 128, 16, Activation.GELU, false, false);
                default -> throw new IllegalArgumentException("unknown shape '" + shape + "'; shapes: gpt2, small");
            };
            Backend backend = BenchSetup.backend();
            SplittableRandom r = new SplittableRandom(7);
            float[] x = new float[BATCHES * BATCH * cfg.inputDim()];
            float[] t = new float[BATCHES * BATCH * cfg.outputDim()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) r.nextGaussian();
            }
            ActivationSource data = ActivationSource.inMemory(cfg.inputDim(), cfg.outputDim(), x, t, new float[0],
                    new float[0]);
            model = MxdModel.random(cfg, 42);
            try {
                kernels = TrainingBackends.kernels(backend, model);
                // lr and warm-up as the reference's defaults; runs far longer than any benchmark
                TrainingOptions options = TrainingOptions.builder(BATCH, (long) BATCH << 30).lr(4e-4)
                        .warmupSteps(5000).seed(1).build();
                trainer = new Trainer(kernels, data, options, new TrainingListener() {
                    @Override
                    public void onStep(StepReport report) {
                        lastLoss = report.batch().loss();
                    }
                });
                trainer.runSteps(1);
                if (!Double.isFinite(lastLoss)) {
                    throw new IllegalStateException("the first step's loss is " + lastLoss + ": a broken step is not timed");
                }
            } catch (RuntimeException e) {
                free();
                throw e;
            }
        }

        @TearDown(Level.Trial)
        public void free() {
            // trainer, then kernels, then the model they read; each at most once
            trainer = BenchSetup.closed(trainer);
            kernels = BenchSetup.closed(kernels);
            model = BenchSetup.closed(model);
        }
    }

    /** One training step. */
    @Benchmark
    @Fork(1)
    public void step(Run run, Tokens counter) {
        run.trainer.runSteps(1);
        counter.tokens += BATCH;
    }
}
