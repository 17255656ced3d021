package dev.mxd.cli;

import dev.mxd.Kind;
import dev.mxd.checkpoint.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's results over its models: a {@link Row} per kind and K, the frontier table and verdicts it prints, and
 * the {@code results.json} it writes.
 */
final class DemoResults {
    private DemoResults() {
    }

    /**
     * The figures of one kind at one K: means over {@code seeds} seeds, {@code fvuSd} the sample standard
     * deviation of the FVU (NaN for one seed).
     *
     * @param evals      each seed's {@code eval --json} object with {@code train_seconds} added, first seed first
     * @param model      the first seed's model directory
     */
    record Row(Kind kind, int k, long params, int seeds, double fvu, double fvuSd, List<Map<String, Object>> evals,
               double trainSeconds, Path model) {

        /** The mean over seeds of a number at the top level of each eval object, or null when absent or null. */
        Double mean(String key) {
            return meanOf(evals.stream().<Object>map(e -> e.get(key)).toList());
        }

        /** The mean over seeds of a number of each eval object's {@code downstream}, or null. */
        Double downstream(String key) {
            return meanOf(evals.stream().<Object>map(e -> e.get("downstream") instanceof Map<?, ?> d ? d.get(key) : null)
                    .toList());
        }

        Double embeddingCosine() {
            return mean("embedding_cosine");
        }

        double l0() {
            return mean("l0");
        }

        private static Double meanOf(List<Object> values) {
            double sum = 0;
            for (Object v : values) {
                if (!(v instanceof Number n)) {
                    return null;
                }
                sum += n.doubleValue();
            }
            return values.isEmpty() ? null : sum / values.size();
        }
    }

    /** The downstream figures each results.json row carries (means over seeds). */
    static final List<String> DOWNSTREAM = List.of("cosine_replaced", "cosine_zero_ablation", "cosine_mean_ablation",
            "score_zero_ablation", "score_mean_ablation", "recall_at_10", "documents");

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** The sample standard deviation (n − 1); NaN for one value. */
    static double sd(double[] v) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double m = mean(v), s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }

    /** The frontier table: one line per kind and K, grouped by K; FVU as mean ± sd when there are several seeds. */
    static String table(List<Row> rows) {
        boolean spread = rows.stream().anyMatch(r -> r.seeds() > 1);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%4s  %-4s  %11s  %8s%s  %8s  %7s  %7s  %9s  %7s  %7s  %9s  %8s%n", "K", "kind",
                "params", "FVU", spread ? String.format(Locale.ROOT, "  %6s", "± sd") : "", "NMSE", "L0", "dead %",
                "emb. cos", "score 0", "score μ", "recall@10", "train s"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%4d  %-4s  %,11d  %8.4f%s  %8.4f  %7.2f  %7.2f  %9s  %7s  %7s  %9s  %8.1f%n",
                    r.k(), r.kind().name().toLowerCase(Locale.ROOT), r.params(), r.fvu(),
                    spread ? String.format(Locale.ROOT, "  %6.4f", r.fvuSd()) : "", r.mean("nmse"), r.l0(),
                    100 * r.mean("dead_fraction"), cell(r.embeddingCosine(), 5), cell(r.downstream("score_zero_ablation"), 4),
                    cell(r.downstream("score_mean_ablation"), 4), cell(r.downstream("recall_at_10"), 3), r.trainSeconds()));
        }
        if (rows.stream().anyMatch(r -> r.embeddingCosine() != null)) {
            b.append("(score 0 / score μ: the share of the zero / mean ablation's loss of embedding cosine that the model"
                    + " recovers; 1 = as the MLP)").append(System.lineSeparator());
        }
        return b.toString();
    }

    private static String cell(Double v, int digits) {
        return v == null ? "-" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    /**
     * For each K with an MxD and another kind: the kind with the lowest (mean) FVU and how much higher the others
     * are. With several seeds the lowest kind "wins" only when its gap to every other kind exceeds the spread (the
     * sum of the two standard deviations), else the verdict is "tie"; with one seed a gap under 1 % is a tie.
     */
    static String verdicts(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        for (int k : rows.stream().map(Row::k).distinct().toList()) {
            List<Row> atK = rows.stream().filter(r -> r.k() == k).sorted(Comparator.comparingDouble(Row::fvu)).toList();
            if (atK.size() < 2 || atK.stream().noneMatch(r -> r.kind() == Kind.MXD)) {
                continue;
            }
            Row best = atK.get(0);
            boolean seeded = atK.stream().allMatch(r -> r.seeds() > 1);
            b.append(String.format(Locale.ROOT, "K = %d: lowest FVU %s %.4f", k, best.kind(), best.fvu()));
            if (seeded) {
                b.append(String.format(Locale.ROOT, " ± %.4f", best.fvuSd()));
            }
            boolean tie = false;
            for (Row r : atK.subList(1, atK.size())) {
                double gap = r.fvu() / best.fvu() - 1;
                if (seeded) {
                    tie |= !(r.fvu() - best.fvu() > r.fvuSd() + best.fvuSd());
                    b.append(String.format(Locale.ROOT, "; %s %.4f ± %.4f (%+.1f %%)", r.kind(), r.fvu(), r.fvuSd(),
                            100 * gap));
                } else {
                    tie |= gap < 0.01 && (best.kind() == Kind.MXD || r.kind() == Kind.MXD);
                    b.append(String.format(Locale.ROOT, "; %s %+.1f %%", r.kind(), 100 * gap));
                }
            }
            String seedsNote = seeded ? String.format(Locale.ROOT, ", %d seeds", best.seeds()) : "";
            if (seeded) {
                b.append(tie ? " (tie: a gap within the spread" + seedsNote + ")"
                        : String.format(Locale.ROOT, " (%s wins: every gap exceeds the spread%s)", best.kind(), seedsNote));
            } else {
                b.append(tie ? " (MxD within 1 % of another kind: a tie at this size)"
                        : best.kind() == Kind.MXD ? " (MxD lowest)" : " (MxD not lowest)");
            }
            b.append(System.lineSeparator());
        }
        return b.isEmpty() ? "" : System.lineSeparator() + b;
    }

    /**
     * {@code results.json}: a JSON array with one object per kind and K: {@code kind}, {@code k}, {@code params},
     * {@code seeds}, {@code fvu} (the mean over seeds) and {@code fvu_sd} (null for one seed), the means of
     * {@code nmse}, {@code l0}, {@code dead_fraction}, {@code dense_fraction}, {@code l2_ratio},
     * {@code relative_reconstruction_bias}, {@code embedding_cosine} and of the downstream figures
     * ({@link #DOWNSTREAM}; null when not measured), {@code splice}, {@code eval_tokens}, {@code train_seconds}
     * (all seeds), {@code model} (the first seed's directory).
     */
    static String resultsJson(List<Row> rows) {
        List<Map<String, Object>> a = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("kind", r.kind().name().toLowerCase(Locale.ROOT));
            o.put("k", r.k());
            o.put("params", r.params());
            o.put("seeds", r.seeds());
            o.put("fvu", Json.finiteOrNull(r.fvu()));
            o.put("fvu_sd", Json.finiteOrNull(r.fvuSd()));
            for (String key : List.of("nmse", "l0", "dead_fraction", "dense_fraction", "l2_ratio",
                    "relative_reconstruction_bias", "embedding_cosine")) {
                Double v = r.mean(key);
                o.put(key, v == null ? null : Json.finiteOrNull(v));
            }
            for (String key : DOWNSTREAM) {
                Double v = r.downstream(key);
                o.put(key, v == null ? null : key.equals("documents") ? (Object) Math.round(v) : Json.finiteOrNull(v));
            }
            o.put("splice", r.evals().getFirst().get("splice"));
            o.put("eval_tokens", r.evals().getFirst().get("tokens"));
            o.put("train_seconds", r.trainSeconds());
            o.put("model", r.model().toString());
            a.add(o);
        }
        return Json.writePretty(a) + "\n";
    }
}
