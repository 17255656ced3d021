package dev.mxd.train;

import java.util.Locale;
import java.util.Objects;

/**
 * The six learning-rate schedules of the reference's {@code optim.py}, by its names, as its training loop uses
 * them: the scheduler is stepped <em>before</em> the optimiser, so update u (1 for the first) runs at the
 * scheduler's epoch u, and the first update already uses λ(1), not λ(0). With base rate lr, warm-up W, T
 * training steps, {@code lrEnd} and epoch e:
 * <pre>
 * constant                     lr
 * constantwithwarmup           lr · min(1, (e + 1)/W)
 * linearwarmupdecay            lr · ((e + 1)/W  if e &lt; W, else (T − e)/(T − W))
 * cosineannealing              lrEnd + (lr − lrEnd) · (1 + cos(π·e/T))/2            (CosineAnnealingLR, T_max = T)
 * cosineannealingwarmup        lr · ((e + 1)/W  if e &lt; W, else lrEnd + ½(1 − lrEnd)(1 + cos(π·(e − W)/(T − W))))
 * cosineannealingwarmrestarts  lrEnd + (lr − lrEnd) · (1 + cos(π·(e mod T₀)/T₀))/2   (T₀ = T / cycles, rounded down)
 * </pre>
 * The reference passes {@code lrEnd = lr/10}, used as an absolute rate by the two torch schedulers and, as
 * written in its lambda, as a <em>fraction</em> of lr by {@code cosineannealingwarmup}; both are kept as it has
 * them. PyTorch's {@code CosineAnnealingLR} computes its values by a recursion whose result equals the closed
 * form above up to rounding (about 1e-15 relative per step); this class uses the closed form.
 *
 * <p>Where the reference would divide by zero, this class rejects the settings instead
 * ({@code linearwarmupdecay} and {@code cosineannealingwarmup} with W ≥ T), except W = 0 for
 * {@code constantwithwarmup}, which means no warm-up (λ = 1) rather than the reference's ZeroDivisionError.
 */
public final class LearningRateSchedule {

    /** The schedule names of the reference ({@code lr_scheduler_name}). */
    public enum Kind {
        CONSTANT("constant"),
        CONSTANT_WITH_WARMUP("constantwithwarmup"),
        LINEAR_WARMUP_DECAY("linearwarmupdecay"),
        COSINE_ANNEALING("cosineannealing"),
        COSINE_ANNEALING_WARMUP("cosineannealingwarmup"),
        COSINE_ANNEALING_WARM_RESTARTS("cosineannealingwarmrestarts");

        private final String referenceName;

        Kind(String referenceName) {
            this.referenceName = referenceName;
        }

        public String referenceName() {
            return referenceName;
        }

        /**
         * Parses a reference name, case-insensitively (as the reference lower-cases it); null means constant.
         *
         * @throws IllegalArgumentException naming the value and the accepted names
         */
        public static Kind parse(String name) {
            if (name == null) {
                return CONSTANT;
            }
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (Kind k : values()) {
                if (k.referenceName.equals(n)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("lr_scheduler_name = '" + name + "' is not supported; expected one of"
                    + " constant, constantwithwarmup, linearwarmupdecay, cosineannealing, cosineannealingwarmup,"
                    + " cosineannealingwarmrestarts");
        }
    }

    private final Kind kind;
    private final double lr;
    private final long warmup;
    private final long steps;
    private final double lrEnd;
    private final long cycleLength;

    /**
     * @param kind          the schedule
     * @param lr            the base learning rate, &gt; 0
     * @param warmupSteps   W, &gt;= 0 (ignored by schedules without warm-up)
     * @param trainingSteps T, the number of optimiser updates of the run, &gt;= 1
     * @param lrEnd         the reference's {@code lr_end} (it passes lr/10)
     * @param cycles        cycles of {@code cosineannealingwarmrestarts} (the reference's default is 1)
     * @throws IllegalArgumentException for settings the formulas cannot evaluate, naming them
     */
    public LearningRateSchedule(Kind kind, double lr, long warmupSteps, long trainingSteps, double lrEnd, int cycles) {
        this.kind = Objects.requireNonNull(kind, "kind");
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("lr must be a positive finite number, got " + lr);
        }
        if (trainingSteps < 1) {
            throw new IllegalArgumentException("a schedule needs at least 1 training step, got " + trainingSteps);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("lr_warm_up_steps must be >= 0, got " + warmupSteps);
        }
        if ((kind == Kind.LINEAR_WARMUP_DECAY || kind == Kind.COSINE_ANNEALING_WARMUP) && warmupSteps >= trainingSteps) {
            throw new IllegalArgumentException(kind.referenceName + " needs lr_warm_up_steps (" + warmupSteps
                    + ") < training steps (" + trainingSteps + "): the decay divides by their difference");
        }
        if (cycles < 1 || (kind == Kind.COSINE_ANNEALING_WARM_RESTARTS && trainingSteps / cycles < 1)) {
            throw new IllegalArgumentException("cosineannealingwarmrestarts needs 1 <= cycles <= training steps, got "
                    + cycles + " cycles for " + trainingSteps + " steps");
        }
        this.lr = lr;
        this.warmup = warmupSteps;
        this.steps = trainingSteps;
        this.lrEnd = lrEnd;
        this.cycleLength = trainingSteps / cycles;
    }

    /** The schedule as the reference's training loop builds it: {@code lr_end = lr/10}, one cycle. */
    public static LearningRateSchedule reference(String name, double lr, long warmupSteps, long trainingSteps) {
        return new LearningRateSchedule(Kind.parse(name), lr, warmupSteps, trainingSteps, lr / 10, 1);
    }

    /**
     * The learning rate of optimiser update {@code update} (1 for the first): the scheduler's value at epoch
     * {@code update}, since the reference steps the scheduler before the optimiser.
     *
     * @throws IllegalArgumentException for update &lt; 1
     */
    public double forUpdate(long update) {
        if (update < 1) {
            throw new IllegalArgumentException("updates count from 1, got " + update);
        }
        return atEpoch(update);
    }

    /** The scheduler's learning rate at epoch e (0 at construction, +1 per scheduler step). */
    public double atEpoch(long e) {
        return switch (kind) {
            case CONSTANT -> lr;
            case CONSTANT_WITH_WARMUP -> warmup == 0 ? lr : lr * Math.min(1.0, (e + 1) / (double) warmup);
            case LINEAR_WARMUP_DECAY -> lr * (e < warmup ? (e + 1) / (double) warmup
                    : (steps - e) / (double) (steps - warmup));
            case COSINE_ANNEALING -> lrEnd + (lr - lrEnd) * (1 + Math.cos(Math.PI * e / steps)) / 2;
            case COSINE_ANNEALING_WARMUP -> lr * (e < warmup ? (e + 1) / (double) warmup
                    : lrEnd + 0.5 * (1 - lrEnd) * (1 + Math.cos(Math.PI * ((e - warmup) / (double) (steps - warmup)))));
            case COSINE_ANNEALING_WARM_RESTARTS -> lrEnd + (lr - lrEnd)
                    * (1 + Math.cos(Math.PI * (e % cycleLength) / cycleLength)) / 2;
        };
    }

    public Kind kind() {
        return kind;
    }

    public double baseRate() {
        return lr;
    }

    public long warmupSteps() {
        return warmup;
    }

    public long trainingSteps() {
        return steps;
    }

    public double lrEnd() {
        return lrEnd;
    }

    @Override
    public String toString() {
        return kind.referenceName + "(lr " + lr + ", warm-up " + warmup + ", steps " + steps + ", lr_end " + lrEnd + ")";
    }
}
