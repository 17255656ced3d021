package dev.mxd.train;

import dev.mxd.Codes;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Loss and quality metrics of DESIGN §2, accumulated over one or more batches in double precision.
 *
 * <ul>
 *   <li>{@link #loss()}: the reference's normalised loss, the mean over all T·O elements of
 *       {@code (y − t)² / ‖t‖} (‖t‖ the L2 norm of that token's target row), without the constant −1 the
 *       reference adds to it in its logs (its {@code topk_loss});</li>
 *   <li>{@link #fvu()}: {@code Σ‖y − t‖² / Σ‖t − mean(t)‖²}, the mean taken over every token added;</li>
 *   <li>{@link #nmse()}: {@code Σ‖y − t‖² / Σ‖t‖²};</li>
 *   <li>{@link #l0()}: non-zero codes per token, averaged (TC codes may be negative: non-zero, not positive);</li>
 *   <li>{@link #firingCounts()}, {@link #firingFrequencies()}, {@link #deadFraction()}: per code index (expert, or hidden unit of a TC), the
 *       number of tokens in which it had a non-zero code; the fraction that never did (the window is the
 *       tokens added);</li>
 *   <li>{@link #denseFraction()}: the fraction of code indices that fired on more than 10 % of the tokens
 *       added (SAEBench's "dense" latents);</li>
 *   <li>{@link #l2Ratio()}: the mean over tokens of {@code ‖y‖ / ‖t‖} (SAELens's {@code l2_ratio}: below 1, the
 *       layer shrinks its outputs);</li>
 *   <li>{@link #relativeReconstructionBias()}: {@code Σ‖y‖² / Σ⟨t, y⟩} (SAEBench's relative reconstruction
 *       bias: 1 for an unbiased scale, the γ that minimises {@code ‖γ·y − t‖} is its inverse).</li>
 * </ul>
 * A target row of zero norm is rejected with an exception naming the row (the reference divides by it and
 * produces inf/NaN). Not thread-safe.
 */
public final class Metrics {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int outDim;
    private final long[] fired;
    private long tokens;
    private double normalisedSum;   // Σ_t Σ_o (y − t)² / ‖t‖
    private double sqErr;           // Σ ‖y − t‖²
    private double sqTarget;        // Σ ‖t‖²
    private final double[] mean;    // per output column, over every token added (Chan's merge)
    private double m2;              // Σ ‖t − mean‖²
    private long nonZeroCodes;
    private double normRatioSum;    // Σ_t ‖y‖ / ‖t‖
    private double sqOutput;        // Σ ‖y‖²
    private double dotTargetOutput; // Σ ⟨t, y⟩

    /**
     * @param outputDim O, the width of y and t
     * @param codeSpace the number of code indices: N for an MxD, H for a TC or STC
     */
    public Metrics(int outputDim, int codeSpace) {
        if (outputDim < 1 || codeSpace < 1) {
            throw new IllegalArgumentException("metrics need outputDim >= 1 and codeSpace >= 1, got " + outputDim
                    + " and " + codeSpace);
        }
        this.outDim = outputDim;
        this.fired = new long[codeSpace];
        this.mean = new double[outputDim];
    }

    /**
     * The L2 norm of one target row.
     *
     * @param row the row's number, for the message
     * @throws IllegalArgumentException when the norm is zero or not finite
     */
    public static double targetNorm(double[] t, long row) {
        double s = 0;
        for (double v : t) {
            s += v * v;
        }
        double norm = Math.sqrt(s);
        if (!(norm > 0) || Double.isInfinite(norm)) {
            throw new IllegalArgumentException("target row " + row + " has norm " + norm
                    + ": the normalised loss divides by ‖t‖, so a zero (or non-finite) target row is not allowed");
        }
        return norm;
    }

    /**
     * Adds a batch.
     *
     * @param y      outputs [T, O], float32, row-major, native order
     * @param t      targets [T, O], float32, row-major, native order; no zero row
     * @param codes  the batch's codes (T rows of any width; a pair counts when its value is non-zero)
     * @param tokens T
     * @throws IllegalArgumentException for a zero-norm target row (naming the row within the batch), segment
     *                                  sizes that do not match, or a code index outside the code space; on a
     *                                  throw nothing has been added
     */
    public void add(MemorySegment y, MemorySegment t, Codes codes, int tokens) {
        long bytes = (long) tokens * outDim * 4;
        if (y.byteSize() < bytes || t.byteSize() < bytes || codes.tokens() != tokens) {
            throw new IllegalArgumentException("a batch of " + tokens + " tokens needs y and t of " + bytes
                    + " bytes and codes for " + tokens + " tokens, got " + y.byteSize() + ", " + t.byteSize() + " and "
                    + codes.tokens());
        }
        double[] norms = new double[tokens];
        double[] row = new double[outDim];
        for (int r = 0; r < tokens; r++) {
            for (int o = 0; o < outDim; o++) {
                row[o] = t.getAtIndex(F32, (long) r * outDim + o);
            }
            norms[r] = targetNorm(row, r);
        }
        for (int r = 0; r < tokens; r++) {
            for (int j = 0; j < codes.width(); j++) {
                int n = codes.index(r, j);
                if (codes.value(r, j) != 0 && (n < 0 || n >= fired.length)) {
                    throw new IllegalArgumentException("code index " + n + " of token " + r + " is outside [0, "
                            + fired.length + ")");
                }
            }
        }
        double[] batchMean = new double[outDim];
        for (int r = 0; r < tokens; r++) {
            double yy = 0;
            for (int o = 0; o < outDim; o++) {
                double tv = t.getAtIndex(F32, (long) r * outDim + o);
                double yv = y.getAtIndex(F32, (long) r * outDim + o);
                double d = yv - tv;
                normalisedSum += d * d / norms[r];
                sqErr += d * d;
                sqTarget += tv * tv;
                yy += yv * yv;
                dotTargetOutput += tv * yv;
                batchMean[o] += tv;
            }
            sqOutput += yy;
            normRatioSum += Math.sqrt(yy) / norms[r];
        }
        double batchM2 = 0;
        for (int o = 0; o < outDim; o++) {
            batchMean[o] /= tokens;
        }
        for (int r = 0; r < tokens; r++) {
            for (int o = 0; o < outDim; o++) {
                double d = t.getAtIndex(F32, (long) r * outDim + o) - batchMean[o];
                batchM2 += d * d;
            }
        }
        // Chan et al.'s pairwise merge keeps the centred sum exact-ish across batches, where Σt² − T·mean²
        // would cancel catastrophically for targets with a large mean.
        long total = this.tokens + tokens;
        double shift = 0;
        for (int o = 0; o < outDim; o++) {
            double delta = batchMean[o] - mean[o];
            shift += delta * delta;
            mean[o] += delta * tokens / total;
        }
        m2 += batchM2 + shift * ((double) this.tokens * tokens / total);
        this.tokens = total;
        for (int r = 0; r < tokens; r++) {
            for (int j = 0; j < codes.width(); j++) {
                if (codes.value(r, j) != 0) {
                    nonZeroCodes++;
                    fired[codes.index(r, j)]++;
                }
            }
        }
    }

    /** Tokens added so far. */
    public long tokens() {
        return tokens;
    }

    /** The reference's normalised loss without its −1 constant; NaN before any token. */
    public double loss() {
        return normalisedSum / ((double) tokens * outDim);
    }

    /** Fraction of variance unexplained; NaN before any token, infinite for constant targets. */
    public double fvu() {
        return sqErr / m2;
    }

    /** Normalised mean squared error; NaN before any token. */
    public double nmse() {
        return sqErr / sqTarget;
    }

    /** Mean number of non-zero codes per token; NaN before any token. */
    public double l0() {
        return (double) nonZeroCodes / tokens;
    }

    /** Per code index, the number of tokens in which it had a non-zero code (a copy). */
    public long[] firingCounts() {
        return fired.clone();
    }

    /** Per code index, the fraction of tokens added in which it fired (its firing frequency). */
    public double[] firingFrequencies() {
        double[] f = new double[fired.length];
        for (int n = 0; n < f.length; n++) {
            f[n] = (double) fired[n] / tokens;
        }
        return f;
    }

    /** The fraction of code indices that never fired on the tokens added ({@code dead_fraction}). */
    public double deadFraction() {
        long dead = 0;
        for (long f : fired) {
            if (f == 0) {
                dead++;
            }
        }
        return (double) dead / fired.length;
    }

    /** The fraction of code indices that fired on more than 10 % of the tokens added; NaN before any token. */
    public double denseFraction() {
        long dense = 0;
        for (long f : fired) {
            if (f > 0.1 * tokens) {
                dense++;
            }
        }
        return tokens == 0 ? Double.NaN : (double) dense / fired.length;
    }

    /** The mean over tokens of {@code ‖y‖ / ‖t‖}; NaN before any token. */
    public double l2Ratio() {
        return normRatioSum / tokens;
    }

    /** {@code Σ‖y‖² / Σ⟨t, y⟩}; NaN before any token, infinite or negative when y is orthogonal to or against t. */
    public double relativeReconstructionBias() {
        return sqOutput / dotTargetOutput;
    }

    /** The scalar metrics as a record. */
    public Summary summary() {
        return new Summary(tokens, loss(), fvu(), nmse(), l0(), deadFraction());
    }

    /** The scalar metrics of an accumulator at one moment. */
    public record Summary(long tokens, double loss, double fvu, double nmse, double l0, double deadFraction) {
    }
}
