package dev.mxd.train;

import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of a training run (DESIGN §2), built with {@link #builder}. Defaults are the paper's where it
 * has one: lr 4e-4, {@code constantwithwarmup} with 5 % of the steps as warm-up, AdamW β1 0.9, β2 0.999,
 * ε 1e-8, no weight decay, decoder-norm on for an MxD and a TC and off for an STC.
 *
 * <p>The run has {@code totalTokens / batchTokens} steps (rounded down; a last partial batch is not taken).
 * The reference loops while fewer than {@code total_training_tokens} tokens are seen, which adds one step past
 * its schedule's horizon when the division is not exact; mxd keeps the run inside the schedule.
 */
public final class TrainingOptions {
    private final int batchTokens;
    private final long totalTokens;
    private final String schedule;
    private final double lr;
    private final Long warmupSteps;
    private final Boolean decoderNorm;
    private final double beta1, beta2, eps, weightDecay;
    private final long seed;
    private final int evalEvery;
    private final long evalTokens;
    private final int checkpointEvery;
    private final Path checkpointFile;
    private final long deadWindow;
    private final int shuffleBlockTokens;
    private final int shuffleWindowBlocks;
    private final boolean shuffle;

    private TrainingOptions(Builder b) {
        this.batchTokens = b.batchTokens;
        this.totalTokens = b.totalTokens;
        this.schedule = LearningRateSchedule.Kind.parse(b.schedule).referenceName();
        this.lr = b.lr;
        this.warmupSteps = b.warmupSteps;
        this.decoderNorm = b.decoderNorm;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.weightDecay = b.weightDecay;
        this.seed = b.seed;
        this.evalEvery = b.evalEvery;
        this.evalTokens = b.evalTokens;
        this.checkpointEvery = b.checkpointEvery;
        this.checkpointFile = b.checkpointFile;
        this.deadWindow = b.deadWindow;
        this.shuffleBlockTokens = b.shuffleBlockTokens;
        this.shuffleWindowBlocks = b.shuffleWindowBlocks;
        this.shuffle = b.shuffle;
        if (batchTokens < 1) {
            throw new IllegalArgumentException("batch size must be >= 1 token, got " + batchTokens);
        }
        if (totalTokens < batchTokens) {
            throw new IllegalArgumentException("total tokens (" + totalTokens + ") must be at least one batch ("
                    + batchTokens + " tokens)");
        }
        if (evalEvery < 0 || checkpointEvery < 0 || evalTokens < 0) {
            throw new IllegalArgumentException("eval-every, checkpoint-every and eval tokens must be >= 0, got "
                    + evalEvery + ", " + checkpointEvery + ", " + evalTokens);
        }
        if (checkpointEvery > 0 && checkpointFile == null) {
            throw new IllegalArgumentException("checkpoints every " + checkpointEvery + " steps need a checkpoint file");
        }
        if (deadWindow < 1 || shuffleBlockTokens < 1 || shuffleWindowBlocks < 1) {
            throw new IllegalArgumentException("dead window, shuffle block and shuffle window must be >= 1, got "
                    + deadWindow + ", " + shuffleBlockTokens + ", " + shuffleWindowBlocks);
        }
        schedule();  // rejects settings the schedule cannot evaluate now, not at step one
        AdamW.checkHyperParameters(beta1, beta2, eps, weightDecay);
    }

    /** Options for batches of {@code batchTokens} tokens and a run of {@code totalTokens} tokens. */
    public static Builder builder(int batchTokens, long totalTokens) {
        return new Builder(batchTokens, totalTokens);
    }

    /** The number of optimiser steps: {@code totalTokens / batchTokens}. */
    public long steps() {
        return totalTokens / batchTokens;
    }

    /** The warm-up in steps: as set, else 5 % of the steps (rounded down). */
    public long warmupSteps() {
        return warmupSteps != null ? warmupSteps : steps() / 20;
    }

    /** The learning-rate schedule of this run ({@code lr_end = lr/10} and one cycle, as the reference). */
    public LearningRateSchedule schedule() {
        return LearningRateSchedule.reference(schedule, lr, warmupSteps(), steps());
    }

    /** Whether decoder-norm is on for a layer of this kind: as set, else {@link DecoderNorm#referenceDefault}. */
    public boolean decoderNorm(Kind kind) {
        return decoderNorm != null ? decoderNorm : DecoderNorm.referenceDefault(kind);
    }

    /** A new optimiser (settings and step count) with these settings. */
    public AdamW optimiser() {
        return new AdamW(beta1, beta2, eps, weightDecay);
    }

    /**
     * The settings under the reference's config field names ({@code lr}, {@code lr_scheduler_name},
     * {@code lr_warm_up_steps}, {@code train_batch_size}, {@code total_training_tokens}, {@code seed},
     * {@code norm_dec}) plus mxd's own, for {@code cfg.json} and a checkpoint's metadata.
     */
    public Map<String, Object> referenceFields(Kind kind) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("lr_scheduler_name", schedule);
        m.put("lr_warm_up_steps", warmupSteps());
        m.put("train_batch_size", batchTokens);
        m.put("total_training_tokens", totalTokens);
        m.put("seed", seed);
        m.put("norm_dec", decoderNorm(kind));
        m.put("adam_beta1", beta1);
        m.put("adam_beta2", beta2);
        m.put("adam_eps", eps);
        m.put("weight_decay", weightDecay);
        m.put("dead_window", deadWindow);
        m.put("shuffle_block_tokens", shuffleBlockTokens);
        m.put("shuffle_window_blocks", shuffleWindowBlocks);
        m.put("shuffle", shuffle);
        return m;
    }

    /**
     * {@code config} with these settings added to its extra fields ({@link #referenceFields}), replacing
     * older values of the same names: the config to write beside the trained weights.
     */
    public MxdConfig annotate(MxdConfig config) {
        Map<String, Object> m = new LinkedHashMap<>(config.otherFields());
        m.putAll(referenceFields(config.kind()));
        return config.withOtherFields(m);
    }

    public int batchTokens() {
        return batchTokens;
    }

    public long totalTokens() {
        return totalTokens;
    }

    public double lr() {
        return lr;
    }

    public long seed() {
        return seed;
    }

    /** Evaluate on the held-out split every this many steps (0: never). */
    public int evalEvery() {
        return evalEvery;
    }

    /** At most this many held-out tokens per evaluation, the first ones of the split (0: all). */
    public long evalTokens() {
        return evalTokens;
    }

    /** Write a checkpoint every this many steps (0: never). */
    public int checkpointEvery() {
        return checkpointEvery;
    }

    /** Where checkpoints go (replaced atomically each time), or null. */
    public Path checkpointFile() {
        return checkpointFile;
    }

    public long deadWindow() {
        return deadWindow;
    }

    public int shuffleBlockTokens() {
        return shuffleBlockTokens;
    }

    public int shuffleWindowBlocks() {
        return shuffleWindowBlocks;
    }

    /** Whether training reads the split in a seeded shuffle (the default) or in order. */
    public boolean shuffle() {
        return shuffle;
    }

    /** Builds {@link TrainingOptions}; every setter returns the builder. */
    public static final class Builder {
        private final int batchTokens;
        private final long totalTokens;
        private String schedule = "constantwithwarmup";
        private double lr = 4e-4;
        private Long warmupSteps;
        private Boolean decoderNorm;
        private double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
        private long seed = 42;
        private int evalEvery;
        private long evalTokens;
        private int checkpointEvery;
        private Path checkpointFile;
        private long deadWindow = DeadExperts.DEFAULT_WINDOW;
        private int shuffleBlockTokens = 256;
        private int shuffleWindowBlocks = 64;
        private boolean shuffle = true;

        private Builder(int batchTokens, long totalTokens) {
            this.batchTokens = batchTokens;
            this.totalTokens = totalTokens;
        }

        /** A schedule name of the reference ({@link LearningRateSchedule.Kind}). */
        public Builder schedule(String name) {
            this.schedule = Objects.requireNonNull(name, "schedule");
            return this;
        }

        public Builder lr(double lr) {
            this.lr = lr;
            return this;
        }

        public Builder warmupSteps(long steps) {
            this.warmupSteps = steps;
            return this;
        }

        public Builder decoderNorm(boolean on) {
            this.decoderNorm = on;
            return this;
        }

        public Builder adam(double beta1, double beta2, double eps, double weightDecay) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
            this.weightDecay = weightDecay;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Evaluate every {@code steps} steps on at most {@code tokens} held-out tokens (0: all of them). */
        public Builder evaluation(int steps, long tokens) {
            this.evalEvery = steps;
            this.evalTokens = tokens;
            return this;
        }

        /** Write {@code file} (atomically) every {@code steps} steps. */
        public Builder checkpoints(int steps, Path file) {
            this.checkpointEvery = steps;
            this.checkpointFile = file;
            return this;
        }

        public Builder deadWindow(long tokens) {
            this.deadWindow = tokens;
            return this;
        }

        /** The shuffle's block (rows read together) and window (blocks held in memory) sizes. */
        public Builder shuffle(int blockTokens, int windowBlocks) {
            this.shuffleBlockTokens = blockTokens;
            this.shuffleWindowBlocks = windowBlocks;
            return this;
        }

        /** Reads the training split in order, without shuffling (to replay batches made elsewhere). */
        public Builder inOrder() {
            this.shuffle = false;
            return this;
        }

        /** @throws IllegalArgumentException naming the first setting out of range */
        public TrainingOptions build() {
            return new TrainingOptions(this);
        }
    }
}
