package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.Metrics;
import dev.mxd.train.ReferenceInit;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainingCheckpoint;
import dev.mxd.train.TrainingBackends;
import dev.mxd.train.TrainingKernels;
import dev.mxd.train.TrainingListener;
import dev.mxd.train.TrainingOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * One training run as {@code ./mxd train} and {@code ./mxd demo} make it: the reference initialisation (or a
 * checkpoint to resume), the trainer with a live progress line, and {@code out/mxd.safetensors} with
 * {@code out/cfg.json} at the end.
 */
final class LayerTraining {
    /** The training checkpoint's file name in the output directory. */
    static final String CHECKPOINT = "checkpoint.safetensors";

    private LayerTraining() {
    }

    /**
     * How a run is sliced and checkpointed.
     *
     * @param checkpointEvery write {@code out/checkpoint.safetensors} every this many steps (0: never)
     * @param resume          continue from that checkpoint
     * @param stopAfter       stop after this many steps of this invocation, with a checkpoint (null: run to the end)
     */
    record Slicing(int checkpointEvery, boolean resume, Long stopAfter) {
        static final Slicing WHOLE = new Slicing(0, false, null);

        Slicing {
            if (stopAfter != null && stopAfter < 1) {
                throw new IllegalArgumentException("--stop-after must be >= 1, got " + stopAfter);
            }
        }

        boolean checkpoints() {
            return checkpointEvery > 0 || resume || stopAfter != null;
        }
    }

    /** What one call of {@link #train} did: whether the run is complete, and the steps taken by this call. */
    record Outcome(boolean finished, long steps) {
    }

    /**
     * Trains {@code cfg} on {@code dir} and writes the model to {@code out}.
     *
     * @param options        the run's settings (checkpoints are added from {@code slicing})
     * @param backend        a backend name ({@code auto} trains on an OpenCL GPU where one exists, else on cpu)
     * @param evaluateAtEnd  whether to print the metrics on {@code DIR/eval} at the end (when it has tokens)
     * @return whether the run reached its last step (false: stopped early with a checkpoint to resume from) and the
     *         steps this call took
     */
    static Outcome train(PrintWriter log, ActivationDirectory dir, MxdConfig cfg, TrainingOptions.Builder options,
                         String backend, Path out, Slicing slicing, boolean evaluateAtEnd) throws IOException {
        Path checkpoint = out.resolve(CHECKPOINT);
        if (slicing.checkpoints()) {
            options.checkpoints(slicing.checkpointEvery(), checkpoint);
        }
        TrainingOptions opts = options.build();
        // a layer trained on a harvest says which layer of which model it replaces, for codes, steer and eval
        MxdConfig annotated = opts.annotate(HarvestManifest.exists(dir.directory())
                ? HarvestManifest.read(dir.directory()).recordIn(cfg, dir.directory()) : cfg);
        Backend chosen = Backends.selectForTraining(backend);
        Files.createDirectories(out);
        try (MxdModel model = slicing.resume() ? MxdModel.zeros(TrainingCheckpoint.config(checkpoint))
                : ReferenceInit.create(annotated, opts.decoderNorm(cfg.kind()), opts.seed())) {
            try (TrainingKernels kernels = TrainingBackends.kernels(chosen, model);
                 Trainer trainer = new Trainer(kernels, dir, opts, new Progress(log, opts))) {
                if (slicing.resume()) {
                    trainer.restore(checkpoint);
                }
                MxdConfig c = model.config();
                log.printf(Locale.ROOT, "mxd train: %s I=%d H=%d O=%d%s K=%d %s%s%s, %,d parameters; %,d steps of %,d"
                                + " tokens, lr %.3g %s (warm-up %d), seed %d; backend %s (%s)%s%n",
                        c.kind(), c.inputDim(), c.hiddenDim(), c.outputDim(),
                        c.kind() == Kind.MXD ? " N=" + c.experts() : "", c.k(), c.activation().referenceName(),
                        c.glu() ? " glu" : "", c.skip() ? " skip" : "", c.parameterCount(), opts.steps(),
                        opts.batchTokens(), opts.lr(), opts.referenceFields(c.kind()).get("lr_scheduler_name"),
                        opts.warmupSteps(), opts.seed(), chosen.name(), chosen.availability().detail(),
                        slicing.resume() ? "; resumed at step " + trainer.step() : "");
                long first = trainer.step();
                trainer.runSteps(slicing.stopAfter() != null ? slicing.stopAfter() : opts.steps());
                long taken = trainer.step() - first;
                if (trainer.step() < opts.steps()) {
                    trainer.checkpoint(checkpoint);
                    log.printf("stopped at step %,d of %,d: continue with the same options and --resume (%s)%n",
                            trainer.step(), opts.steps(), checkpoint);
                    return new Outcome(false, taken);
                }
                trainer.syncModel();
                ModelFiles.save(model, out);
                if (evaluateAtEnd && dir.eval().tokens() > 0) {
                    Metrics.Summary s = trainer.evaluate();
                    log.printf(Locale.ROOT, "eval (%,d tokens): loss %.5g  FVU %.4f  NMSE %.4f  L0 %.2f  dead %.2f%%%n",
                            s.tokens(), s.loss(), s.fvu(), s.nmse(), s.l0(), 100 * s.deadFraction());
                }
                log.printf("wrote %s and %s%n", out.resolve(ModelFiles.WEIGHTS_FILE), out.resolve("cfg.json"));
                return new Outcome(true, taken);
            }
        }
    }


    /** The progress line of a run: step, tokens/s, ETA and the batch's metrics. */
    private static final class Progress implements TrainingListener {
        private final ProgressLine line;
        private final int batch;

        Progress(PrintWriter out, TrainingOptions options) {
            this.line = new ProgressLine(out);
            this.batch = options.batchTokens();
        }

        @Override
        public void onStep(StepReport r) {
            double eta = r.tokensPerSecond() > 0 ? (r.steps() - r.step()) * (double) batch / r.tokensPerSecond() : 0;
            Metrics.Summary m = r.batch();
            line.update(String.format(Locale.ROOT,
                    "step %,d/%,d  %,.0f tok/s  ETA %s  loss %.5g  FVU %.4f  L0 %.2f  dead %.2f%%  lr %.3g",
                    r.step(), r.steps(), r.tokensPerSecond(), ProgressLine.duration(eta), m.loss(), m.fvu(), m.l0(),
                    100 * r.deadFraction(), r.lr()), r.step() == r.steps());
        }

        @Override
        public void onEvaluation(long step, Metrics.Summary s) {
            line.interject(String.format(Locale.ROOT,
                    "eval at step %,d (%,d tokens): loss %.5g  FVU %.4f  NMSE %.4f  L0 %.2f  dead %.2f%%",
                    step, s.tokens(), s.loss(), s.fvu(), s.nmse(), s.l0(), 100 * s.deadFraction()));
        }

        @Override
        public void onCheckpoint(long step, Path file) {
            if (!line.terminal()) {
                line.interject(String.format("checkpoint at step %,d: %s", step, file));
            }
        }
    }
}
