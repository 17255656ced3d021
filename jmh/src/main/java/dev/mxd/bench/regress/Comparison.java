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
 *   <li>the change stands out of the spread of the iterations: the one-sided {@link MannWhitney} test of the two
 *       runs' per-iteration samples gives p &lt; {@value #ALPHA}.</li>
 * </ul>
 * The threshold keeps changes too small to matter (and the drift between runs that the iterations of one run
 * cannot show) from being flagged; the test keeps a large change made of a few disturbed iterations from being
 * flagged. Where a same-run calibration exists ({@link #CALIBRATION}) the row also gives the change of the
 * normalised score (score / calibration's score), which compares runs on different machines by ratio. A score
 * present on one side only is a row of its own, and one missing from this run counts as a failure.
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
        SAME("same"),
        FASTER("faster"),
        TOO_FEW("too few samples"),
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
     * @param p                the one-sided p-value that this run is worse (NaN unless both exist)
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

    /**
     * @param threshold the relative change that matters, in (0, 1): 0.10 flags a loss of more than 10 %
     * @throws IllegalArgumentException when the threshold is outside (0, 1)
     */
    Comparison(RunDocument baseline, RunDocument now, double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("the threshold is a fraction in (0, 1), e.g. 0.10; got " + threshold);
        }
        this.threshold = threshold;
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
        boolean up = b.higherIsBetter();
        // p that this run is worse, and p that it is better
        double pWorse = up ? MannWhitney.pLess(n.samples(), b.samples()) : MannWhitney.pLess(b.samples(), n.samples());
        double pBetter = up ? MannWhitney.pLess(b.samples(), n.samples()) : MannWhitney.pLess(n.samples(), b.samples());
        boolean worse = up ? change < -threshold : change > threshold;
        boolean better = up ? change > threshold : change < -threshold;
        Verdict verdict;
        if ((worse || better) && MannWhitney.smallestP(b.samples().length, n.samples().length) >= ALPHA) {
            verdict = Verdict.TOO_FEW;
        } else if (worse) {
            verdict = pWorse < ALPHA ? Verdict.REGRESSION : Verdict.SLOWER_NOISE;
        } else if (better && pBetter < ALPHA) {
            verdict = Verdict.FASTER;
        } else {
            verdict = Verdict.SAME;
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
