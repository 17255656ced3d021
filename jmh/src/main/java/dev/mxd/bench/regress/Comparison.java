package dev.mxd.bench.regress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run compared with a baseline, benchmark by benchmark (primary and secondary scores alike, matched by
 * {@link Score#key()}). A score is a regression only when both hold:
 * <ul>
 *   <li>it got worse by more than the threshold: throughput fell below {@code (1 − threshold)} of the baseline's,
 *       or a time grew beyond {@code (1 + threshold)} of it;</li>
 *   <li>the change stands out of the spread between forks: the one-sided {@link MannWhitney} test of the two runs'
 *       fork means gives p &lt; {@value #ALPHA}.</li>
 * </ul>
 * The unit of the test is the fork (a round of the suite, {@link Rounds}), not the iteration: the iterations of one
 * fork share its JIT decisions, memory layout and the load of its minutes, so they are not independent samples, and
 * a test over them takes one fork that happened to run slow for many pieces of evidence (a back-to-back run of one
 * build read PoCL's forward as 17.5 % slower at p = 0.004 that way). Fork means are independent draws of what a
 * fresh JVM measures, so the test needs several forks a side: {@link Suite} runs five or more rounds, and a score
 * with too few forks for any p below {@value #ALPHA} says so ("too few forks") instead of passing silently.
 *
 * <p>The threshold keeps changes too small to matter from being flagged; the test keeps a large change made of one
 * or two disturbed forks from being flagged. Where both runs recorded the other load of each iteration
 * ({@link LoadMonitor}: how many threads of other processes wanted the cores), a regression must also be worse by
 * more than the threshold after each iteration's score is corrected for it (scaled by (P + load) / P on P cores,
 * the share of the machine a P-thread benchmark gets under fair scheduling) and averaged per fork; one that is not
 * is "slower, machine busier", reported but not failing. Where a same-run calibration exists ({@link #CALIBRATION}) the row also gives
 * the change of the normalised score (score / calibration's score), which compares runs on different machines by
 * ratio. A score present on one side only is a row of its own, and one missing from this run counts as a failure.
 */
final class Comparison {
    /** The significance level of the one-sided test. */
    static final double ALPHA = 0.01;

    /** Benchmark → the benchmark of the same run it is normalised by (same params, backend and metric). */
    static final Map<String, String> CALIBRATION = Map.of(
            "SgemmBenchmark.mxd", "SgemmBenchmark.openblas",
            "ForwardBenchmark.simd", "ForwardBenchmark.scalar",
            "GateTopKBenchmark.simd", "GateTopKBenchmark.scalar");

    /** What a row says. */
    enum Verdict {
        REGRESSION("REGRESSION"),
        SLOWER_NOISE("slower, within noise"),
        BUSIER("slower, machine busier"),
        SAME("same"),
        FASTER("faster"),
        TOO_FEW("too few forks"),
        MISSING("MISSING in this run"),
        NEW("new, no baseline");

        final String label;

        Verdict(String label) {
            this.label = label;
        }

        /** Whether this verdict fails the comparison (exit code 1). */
        boolean fails() {
            return this == REGRESSION || this == MISSING;
        }
    }

    /**
     * One compared score.
     *
     * @param key              the score's key
     * @param base             the baseline's score, null when it has none
     * @param now              this run's score, null when it has none
     * @param change           now / base − 1 (NaN unless both exist)
     * @param p                the one-sided p-value that this run's fork means are worse (NaN unless both exist)
     * @param normalisedChange the same change of the normalised scores (NaN without a calibration on both sides)
     * @param calibration      the benchmark this one is normalised by, or empty
     * @param verdict          what the row says
     */
    record Row(String key, Score base, Score now, double change, double p, double normalisedChange,
            String calibration, Verdict verdict) {
    }

    private final List<Row> rows = new ArrayList<>();
    private final List<String> warnings;
    private final double threshold;
    private final double baseCores;
    private final double nowCores;

    /**
     * @param threshold the relative change that matters, in (0, 1): 0.10 flags a loss of more than 10 %
     * @throws IllegalArgumentException when the threshold is outside (0, 1)
     */
    Comparison(RunDocument baseline, RunDocument now, double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("the threshold is a fraction in (0, 1), e.g. 0.10; got " + threshold);
        }
        this.threshold = threshold;
        this.baseCores = cores(baseline);
        this.nowCores = cores(now);
        this.warnings = EnvironmentCheck.differences(baseline, now);
        Map<String, Score> before = byKey(baseline);
        Map<String, Score> after = byKey(now);
        for (Score b : before.values()) {
            Score n = after.get(b.key());
            rows.add(n == null ? new Row(b.key(), b, null, Double.NaN, Double.NaN, Double.NaN, "", Verdict.MISSING)
                    : compare(b, n, before, after));
        }
        for (Score n : after.values()) {
            if (!before.containsKey(n.key())) {
                rows.add(new Row(n.key(), null, n, Double.NaN, Double.NaN, Double.NaN, "", Verdict.NEW));
            }
        }
    }

    List<Row> rows() {
        return rows;
    }

    /** Differences of machine, JDK, flags and load between the two runs, one sentence each. */
    List<String> warnings() {
        return warnings;
    }

    double threshold() {
        return threshold;
    }

    /** Whether any row fails: a regression, or a baseline benchmark this run lacks. */
    boolean failed() {
        return rows.stream().anyMatch(r -> r.verdict().fails());
    }

    private Row compare(Score b, Score n, Map<String, Score> before, Map<String, Score> after) {
        if (!b.unit().equals(n.unit()) || !b.mode().equals(n.mode())) {
            throw new BadInputException(b.key() + " is in " + b.unit() + " (" + b.mode() + ") in the baseline but in "
                    + n.unit() + " (" + n.mode() + ") in this run: the scores cannot be compared");
        }
        double change = n.score() / b.score() - 1;
        double[] baseForks = b.forkMeans(b.samples());
        double[] nowForks = n.forkMeans(n.samples());
        double pWorse = pWorse(b, baseForks, nowForks);
        Verdict verdict;
        if (beyond(-change, b) && MannWhitney.smallestP(b.forks(), n.forks()) >= ALPHA) {
            verdict = Verdict.TOO_FEW;
        } else if (beyond(-change, b)) {
            verdict = pWorse < ALPHA ? Verdict.REGRESSION : Verdict.SLOWER_NOISE;
        } else if (beyond(change, b) && pWorse(b, nowForks, baseForks) < ALPHA) {
            verdict = Verdict.FASTER;
        } else {
            verdict = Verdict.SAME;
        }
        if (verdict == Verdict.REGRESSION && baseCores > 0 && nowCores > 0 && b.otherLoad().length > 0
                && n.otherLoad().length > 0) {
            double[] bc = b.forkMeans(loadCorrected(b, baseCores));
            double[] nc = n.forkMeans(loadCorrected(n, nowCores));
            double corrected = mean(nc) / mean(bc) - 1;
            // Only the size is asked again: the correction multiplies each fork by its own load factor, which
            // spreads the fork means on both sides alike (other load 3 in one fork, 30 in the next), and a rank
            // test on the corrected means would lose its power to that spread even when the loads were equal.
            if (!beyond(-corrected, b)) {
                verdict = Verdict.BUSIER;
            }
        }
        String calibration = CALIBRATION.getOrDefault(b.benchmark(), "");
        double normalised = Double.NaN;
        if (!calibration.isEmpty()) {
            Score cb = before.get(b.keyOf(calibration));
            Score cn = after.get(n.keyOf(calibration));
            if (cb != null && cn != null) {
                normalised = (n.score() / cn.score()) / (b.score() / cb.score()) - 1;
            }
        }
        return new Row(b.key(), b, n, change, pWorse, normalised, calibration, verdict);
    }

    /**
     * Whether a relative change of the score is beyond the threshold in the better direction (pass −change for
     * the worse one): up for throughput, down for a time.
     */
    private boolean beyond(double change, Score s) {
        return s.higherIsBetter() ? change > threshold : change < -threshold;
    }

    /** The one-sided p-value that {@code now} is worse than {@code base}, for scores like {@code s}. */
    private static double pWorse(Score s, double[] base, double[] now) {
        return s.higherIsBetter() ? MannWhitney.pLess(now, base) : MannWhitney.pLess(base, now);
    }

    /** The iterations as on an otherwise idle machine of {@code cores} cores, under fair scheduling. */
    private static double[] loadCorrected(Score s, double cores) {
        double[] v = new double[s.samples().length];
        for (int i = 0; i < v.length; i++) {
            double share = cores / (cores + s.otherLoad()[i]);
            v[i] = s.higherIsBetter() ? s.samples()[i] / share : s.samples()[i] * share;
        }
        return v;
    }

    private static double mean(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return sum / v.length;
    }

    /** The run's recorded core count, 0 when it has none. */
    private static double cores(RunDocument doc) {
        String c = doc.env("cpu.cores");
        return c.isEmpty() ? 0 : Double.parseDouble(c);
    }

    private static Map<String, Score> byKey(RunDocument doc) {
        Map<String, Score> m = new LinkedHashMap<>();
        for (Score s : doc.scores()) {
            if (m.put(s.key(), s) != null) {
                throw new BadInputException(doc.source() + " holds " + s.key() + " twice: one run per benchmark,"
                        + " parameters and backend");
            }
        }
        return m;
    }
}
