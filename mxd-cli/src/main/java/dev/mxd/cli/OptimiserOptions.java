package dev.mxd.cli;

import dev.mxd.train.TrainingOptions;
import picocli.CommandLine.Option;

/** The optimiser's options, shared by {@code train} and {@code demo} (a picocli mixin). */
final class OptimiserOptions {

    @Option(names = "--lr", paramLabel = "LR",
            description = "Learning rate (default: train 4e-4, the paper's; demo 1e-3, for its few steps).")
    Double lr;

    @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "constantwithwarmup",
            description = "constant, constantwithwarmup, linearwarmupdecay, cosineannealing, cosineannealingwarmup or"
                    + " cosineannealingwarmrestarts (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup", paramLabel = "STEPS", description = "Warm-up steps (default: 5 %% of the steps).")
    Long warmup;

    @Option(names = "--batch", paramLabel = "TOKENS",
            description = "Tokens per step (default: train 4096, the paper's; demo 512, for more steps on its few tokens).")
    Integer batch;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "42",
            description = "Seed of the initialisation and the shuffle (default: ${DEFAULT-VALUE}).")
    long seed;

    /** The batch size asked for, else the command's default. */
    int batch(int commandDefault) {
        return batch != null ? batch : commandDefault;
    }

    /** The learning rate asked for, else the command's default. */
    double lr(double commandDefault) {
        return lr != null ? lr : commandDefault;
    }

    /**
     * Options for a run of {@code totalTokens} in batches of {@code batchTokens}, with these settings and the
     * learning rate {@link #lr(double) lr(defaultLr)}.
     */
    TrainingOptions.Builder builder(int batchTokens, long totalTokens, double defaultLr) {
        TrainingOptions.Builder b = TrainingOptions.builder(batchTokens, totalTokens).lr(lr(defaultLr)).schedule(schedule)
                .seed(seed);
        if (warmup != null) {
            b.warmupSteps(warmup);
        }
        return b;
    }
}
