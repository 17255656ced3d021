package dev.mxd.bench.regress;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Prints a {@link Comparison}: the warnings, then one line per score (benchmark, unit, baseline, now, change, p,
 * verdict, normalised change), then a summary. Scores as {@code mean ± JMH's 99.9 % error in percent}.
 */
final class CompareTable {
    private static final String[] HEADER = {"benchmark", "unit", "baseline", "now", "change", "p", "verdict",
        "normalised", "other load"};

    private CompareTable() {
    }

    static void print(Comparison c, PrintStream out) {
        for (String w : c.warnings()) {
            out.println("WARNING: " + w);
        }
        List<String[]> lines = new ArrayList<>();
        lines.add(HEADER);
        for (Comparison.Row r : c.rows()) {
            Score any = r.now() != null ? r.now() : r.base();
            lines.add(new String[] {r.key(), any.unit(), score(r.base()), score(r.now()), percent(r.change()),
                r.base() == null || r.now() == null ? "" : String.format(Locale.ROOT, "%.4f", r.p()),
                r.verdict().label, normalised(r), load(r.base()) + (r.base() == null || r.now() == null ? "" : " -> ")
                + load(r.now())});
        }
        int[] width = new int[HEADER.length];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                width[i] = Math.max(width[i], l[i].length());
            }
        }
        for (String[] l : lines) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < l.length; i++) {
                // text columns left, numbers right
                boolean left = i == 0 || i == 1 || i >= 6;
                String cell = left ? pad(l[i], width[i]) : " ".repeat(width[i] - l[i].length()) + l[i];
                b.append(cell).append(i + 1 < l.length ? "  " : "");
            }
            out.println(b.toString().stripTrailing());
        }
        out.println(summary(c));
    }

    private static String summary(Comparison c) {
        int[] count = new int[Comparison.Verdict.values().length];
        c.rows().forEach(r -> count[r.verdict().ordinal()]++);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "%d scores compared; regression = worse by more than %.0f %% and one-sided Mann-Whitney p < %s: ",
                c.rows().size(), 100 * c.threshold(), Comparison.ALPHA));
        List<String> parts = new ArrayList<>();
        for (Comparison.Verdict v : Comparison.Verdict.values()) {
            if (count[v.ordinal()] > 0) {
                parts.add(count[v.ordinal()] + " " + v.label);
            }
        }
        b.append(String.join(", ", parts)).append(c.failed() ? " -> FAILED" : " -> passed");
        return b.toString();
    }

    private static String score(Score s) {
        if (s == null) {
            return "-";
        }
        String mean = String.format(Locale.ROOT, s.score() >= 100 ? "%.1f" : "%.3f", s.score());
        return Double.isNaN(s.error()) ? mean
                : mean + String.format(Locale.ROOT, " ± %.1f%%", 100 * s.error() / Math.abs(s.score()));
    }

    private static String percent(double change) {
        if (Double.isNaN(change)) {
            return "";
        }
        // no "-0.0%" for a change that rounds to nothing
        return String.format(Locale.ROOT, "%+.1f%%", Math.abs(change) < 5e-4 ? 0.0 : 100 * change);
    }

    private static String normalised(Comparison.Row r) {
        if (Double.isNaN(r.normalisedChange())) {
            return "";
        }
        String calibration = r.calibration().substring(r.calibration().indexOf('.') + 1);
        return percent(r.normalisedChange()) + " (vs " + calibration + ")";
    }

    /** The median other load of a run's iterations ({@link LoadMonitor}), or empty. */
    private static String load(Score s) {
        if (s == null || s.otherLoad().length == 0) {
            return "";
        }
        double[] v = s.otherLoad().clone();
        Arrays.sort(v);
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return String.format(Locale.ROOT, "%.1f", median);
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }
}
