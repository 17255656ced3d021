package dev.mxd.train;

import java.nio.file.Path;

/**
 * Progress of a {@link Trainer}, called on the training thread after each step, evaluation and checkpoint.
 * Keep it quick: the next step waits for it. An exception thrown here stops training and propagates.
 */
public interface TrainingListener {

    /** After each optimiser step. */
    default void onStep(StepReport report) {
    }

    /** After each evaluation on the held-out split. */
    default void onEvaluation(long step, Metrics.Summary metrics) {
    }

    /** After a checkpoint has been written (atomically). */
    default void onCheckpoint(long step, Path file) {
    }

    /**
     * One training step.
     *
     * @param step            the step just taken, 1-based
     * @param steps           the run's number of steps
     * @param tokens          training tokens consumed so far
     * @param lr              the learning rate the step used
     * @param batch           loss, FVU, NMSE, L0 of this batch (the loss before the update)
     * @param deadFraction    fraction of experts (TC: hidden units) that did not fire in the dead window
     * @param tokensPerSecond training throughput since this run (or resume) started, wall clock
     */
    record StepReport(long step, long steps, long tokens, double lr, Metrics.Summary batch, double deadFraction,
                      double tokensPerSecond) {
    }

    /**
     * A listener that other threads may read while the trainer runs (a progress display, a metrics endpoint): each
     * {@link StepReport} is an immutable record published through a volatile field, so a reader sees one whole
     * step, never the loss of one step with the step number of another. Forwards every call to {@code next}.
     */
    final class Latest implements TrainingListener {
        private final TrainingListener next;
        private volatile StepReport step;

        /** @param next the listener to forward to (null: none) */
        public Latest(TrainingListener next) {
            this.next = next;
        }

        /** The last step's report, or null before the first step; safe from any thread. */
        public StepReport step() {
            return step;
        }

        @Override
        public void onStep(StepReport report) {
            step = report;
            if (next != null) {
                next.onStep(report);
            }
        }

        @Override
        public void onEvaluation(long step, Metrics.Summary metrics) {
            if (next != null) {
                next.onEvaluation(step, metrics);
            }
        }

        @Override
        public void onCheckpoint(long step, Path file) {
            if (next != null) {
                next.onCheckpoint(step, file);
            }
        }
    }
}
