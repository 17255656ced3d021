package dev.mxd.train;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Trains a layer on an {@link ActivationSource} (DESIGN §2): the reference's training step, backend-neutral,
 * around a backend's {@link TrainingKernels}. Each step, in the reference's order:
 * <ol>
 *   <li>take the next batch of the seeded shuffle ({@link ShuffledBatches}); a zero-norm target row is an
 *       error naming the data row;</li>
 *   <li>decoder-norm: scale the decoder rows to unit norm ({@link DecoderNorm});</li>
 *   <li>learning rate of this update from the schedule (stepped before the optimiser, as the reference);</li>
 *   <li>forward and backward ({@link TrainingKernels#forwardBackward}), with decoder-norm removing each decoder
 *       row's gradient component parallel to the row; a non-finite loss stops training with
 *       {@link NonFiniteLossException} before anything is updated;</li>
 *   <li>AdamW, dense over every trainable parameter ({@link TrainingKernels#update} with this step's
 *       {@link AdamW.Coefficients});</li>
 *   <li>dead-expert tracking, the listener, evaluation and a checkpoint when due.</li>
 * </ol>
 * The run is a pure function of the initial model, the data, the options and the kernels' thread count: a run
 * restored from a checkpoint ({@link #restore}) continues bit-identically to one never interrupted.
 *
 * <p>The kernels own the parameters while training, in their own layout; the model ({@link TrainingKernels#model()})
 * is brought up to date at the end of {@link #run()}, with every checkpoint and on {@link #syncModel()}, not after
 * every step.
 *
 * <p>Ownership: the caller owns and closes the kernels, their model and the source; the trainer holds no native
 * memory between calls. Not thread-safe.
 */
public final class Trainer implements AutoCloseable {
    private final TrainingKernels kernels;
    private final MxdModel model;
    private final MxdConfig cfg;
    private final ActivationSource data;
    private final TrainingOptions options;
    private final TrainingListener listener;
    private final LearningRateSchedule schedule;
    private final boolean decoderNorm;
    private final AdamW adam;
    private final DeadExperts dead;
    private final float[] y;
    private final Codes codes;
    private ShuffledBatches batches;
    private long step;
    private Path lastCheckpoint;
    private long lastCheckpointStep;

    /**
     * A trainer at step 0 of a run over the kernels' model as it is now (e.g. {@link ReferenceInit#create}).
     *
     * @throws IllegalArgumentException when the data's widths are not the config's, the training split is
     *                                  empty, or evaluation is asked for with an empty held-out split
     * @throws IllegalStateException    when decoder-norm is on and the decoder has a zero row
     */
    public Trainer(TrainingKernels kernels, ActivationSource data, TrainingOptions options, TrainingListener listener) {
        this.kernels = Objects.requireNonNull(kernels, "kernels");
        this.model = kernels.model();
        this.cfg = model.config();
        this.data = Objects.requireNonNull(data, "data");
        this.options = Objects.requireNonNull(options, "options");
        this.listener = listener == null ? new TrainingListener() { } : listener;
        if (data.inputDim() != cfg.inputDim() || data.outputDim() != cfg.outputDim()) {
            throw new IllegalArgumentException("the data has x rows of " + data.inputDim() + " and t rows of "
                    + data.outputDim() + " values, but the " + cfg.kind() + " config has d_in = " + cfg.inputDim()
                    + " and d_out = " + cfg.outputDim());
        }
        if (data.train().tokens() < 1) {
            throw new IllegalArgumentException("the training split is empty: no tokens to train on");
        }
        if (options.evalEvery() > 0 && data.eval().tokens() < 1) {
            throw new IllegalArgumentException("evaluation every " + options.evalEvery()
                    + " steps was asked for, but the held-out (eval) split is empty");
        }
        this.schedule = options.schedule();
        this.decoderNorm = options.decoderNorm(cfg.kind());
        this.y = new float[options.batchTokens() * cfg.outputDim()];
        this.codes = Codes.onHeap(options.batchTokens(), cfg.k());
        this.dead = new DeadExperts(cfg.codeSpace(), options.deadWindow());
        this.adam = options.optimiser();
        this.batches = newBatches(0);
    }

    private ShuffledBatches newBatches(long position) {
        return new ShuffledBatches(data.train(), cfg.inputDim(), cfg.outputDim(), options.seed(), position,
                options.shuffleBlockTokens(), options.shuffleWindowBlocks(), options.shuffle());
    }

    /**
     * Restores the state of a checkpoint this trainer's run wrote: the parameters (into the model and the kernels),
     * the optimiser's moments and step, the data position and the dead-expert counters. Call it before
     * {@link #run()}.
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when the checkpoint is malformed, of another config, or was written with
     *                                  other options (naming the first that differs): a resumed run must be the
     *                                  same run to continue bit-identically
     */
    public void restore(Path file) throws IOException {
        TrainingCheckpoint.State s;
        try (ParameterTensors m = ParameterTensors.zeros(cfg); ParameterTensors v = ParameterTensors.zeros(cfg)) {
            s = TrainingCheckpoint.read(file, model, m, v, options);
            kernels.importFrom(model, m, v);
        }
        adam.restoreSteps(s.adamStep());
        dead.restore(s.deadTokensSeen(), s.lastFired());
        step = s.step();
        batches = newBatches(s.dataPosition());
        lastCheckpoint = file;
        lastCheckpointStep = step;
    }

    /** Trains to the end of the run and brings the model up to date ({@link #syncModel()}). */
    public void run() {
        runSteps(options.steps() - step);
        syncModel();
    }

    /** Writes the kernels' current parameters into the model ({@link TrainingKernels#exportTo}). */
    public void syncModel() {
        kernels.exportTo(model, null, null);
    }

    /**
     * Takes at most {@code n} more steps (fewer at the end of the run); the model is not brought up to date (see
     * {@link #syncModel()}).
     *
     * @return the steps taken
     * @throws NonFiniteLossException   at a step whose loss is NaN or infinite
     * @throws IllegalArgumentException at a batch with a zero-norm target row, naming the data row
     * @throws UncheckedIOException     when a checkpoint cannot be written (the previous one stays intact)
     */
    public long runSteps(long n) {
        long end = Math.min(options.steps(), step + Math.max(0, n));
        long startTokens = batches.position();
        long start = System.nanoTime();
        long taken = 0;
        while (step < end) {
            oneStep(start, startTokens);
            taken++;
        }
        return taken;
    }

    private void oneStep(long startNanos, long startTokens) {
        int tokens = options.batchTokens();
        ShuffledBatches.Batch batch = batches.next(tokens);
        long update = step + 1;
        checkTargets(batch.t(), tokens, r -> data.train().describe(batch.rows()[r]), "training step " + update);
        if (decoderNorm) {
            kernels.normaliseDecoder();
        }
        double lr = schedule.forUpdate(update);
        MemorySegment ys = MemorySegment.ofArray(y);
        MemorySegment ts = MemorySegment.ofArray(batch.t());
        MemorySegment xs = MemorySegment.ofArray(batch.x());
        kernels.forwardBackward(xs, ts, tokens, ys, codes, decoderNorm);
        Metrics m = new Metrics(cfg.outputDim(), cfg.codeSpace());
        m.add(ys, ts, codes, tokens);
        if (!Double.isFinite(m.loss())) {
            throw new NonFiniteLossException(update, m.loss(), batches.position(), lastCheckpoint, lastCheckpointStep);
        }
        kernels.update(adam.next(lr));
        dead.update(codes);
        step = update;
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        listener.onStep(new TrainingListener.StepReport(step, options.steps(), batches.position(), lr, m.summary(),
                dead.deadFraction(), (batches.position() - startTokens) / seconds));
        if (options.evalEvery() > 0 && step % options.evalEvery() == 0) {
            listener.onEvaluation(step, evaluate());
        }
        if (options.checkpointEvery() > 0 && step % options.checkpointEvery() == 0) {
            checkpoint(options.checkpointFile());
        }
    }

    /**
     * Writes the training state to {@code file} atomically (a failure leaves a previous file intact), bringing the
     * model up to date first.
     *
     * @throws UncheckedIOException when the file cannot be written
     */
    public void checkpoint(Path file) {
        try {
            try (ParameterTensors m = ParameterTensors.zeros(cfg); ParameterTensors v = ParameterTensors.zeros(cfg)) {
                kernels.exportTo(model, m, v);
                TrainingCheckpoint.write(file, model, m, v, adam.steps(), options, step, batches.position(), dead);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the training checkpoint " + file + " at step " + step, e);
        }
        lastCheckpoint = file;
        lastCheckpointStep = step;
        listener.onCheckpoint(step, file);
    }

    /**
     * The metrics of the current model on the held-out split (its first {@code evalTokens} rows, or all),
     * in batches of the training batch size; {@code deadFraction} counts experts that never fire there.
     *
     * @throws IllegalArgumentException when the split is empty or has a zero-norm target row (naming it)
     */
    public Metrics.Summary evaluate() {
        ActivationSource.Split eval = data.eval();
        long total = options.evalTokens() > 0 ? Math.min(options.evalTokens(), eval.tokens()) : eval.tokens();
        if (total < 1) {
            throw new IllegalArgumentException("the held-out (eval) split is empty");
        }
        Metrics m = new Metrics(cfg.outputDim(), cfg.codeSpace());
        int chunk = options.batchTokens();
        float[] x = new float[chunk * cfg.inputDim()];
        float[] t = new float[chunk * cfg.outputDim()];
        float[] out = new float[chunk * cfg.outputDim()];
        for (long row = 0; row < total; row += chunk) {
            int n = (int) Math.min(chunk, total - row);
            eval.read(row, n, x, t, 0);
            long first = row;
            checkTargets(t, n, r -> eval.describe(first + r), "evaluation");
            Codes c = Codes.onHeap(n, cfg.k());
            MemorySegment ys = MemorySegment.ofArray(out).asSlice(0, (long) n * cfg.outputDim() * 4);
            kernels.forward(MemorySegment.ofArray(x).asSlice(0, (long) n * cfg.inputDim() * 4), n, ys, c);
            m.add(ys, MemorySegment.ofArray(t).asSlice(0, (long) n * cfg.outputDim() * 4), c, n);
        }
        return m.summary();
    }

    private void checkTargets(float[] t, int tokens, IntFunction<String> where, String when) {
        int o = cfg.outputDim();
        for (int r = 0; r < tokens; r++) {
            double s = 0;
            for (int j = 0; j < o; j++) {
                s += (double) t[r * o + j] * t[r * o + j];
            }
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("target row with norm " + Math.sqrt(s) + " at " + when + ": "
                        + where.apply(r) + "; the normalised loss divides by ‖t‖, so zero (or non-finite) target"
                        + " rows are not allowed");
            }
        }
    }

    /** Steps taken so far (0 at the start, {@link TrainingOptions#steps()} at the end). */
    public long step() {
        return step;
    }

    /** Training tokens read so far (the data position). */
    public long tokens() {
        return batches.position();
    }

    /** The learning-rate schedule of the run. */
    public LearningRateSchedule schedule() {
        return schedule;
    }

    /** The optimiser's settings and step count. */
    public AdamW optimiser() {
        return adam;
    }

    /** The dead-expert tracker of the run. */
    public DeadExperts deadExperts() {
        return dead;
    }

    /** Nothing to free: the trainer holds no native memory between calls (kept for try-with-resources). */
    @Override
    public void close() {
    }
}
