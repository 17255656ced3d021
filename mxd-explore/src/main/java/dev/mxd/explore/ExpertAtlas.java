package dev.mxd.explore;

import dev.mxd.text.experts.ExpertStatistics;
import dev.mxd.text.experts.TopContexts;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The {@link Atlas} of the files {@code ./mxd stats} and {@code ./mxd top --all} write: the statistics and the
 * top contexts of one model over one split of an activation directory.
 */
public final class ExpertAtlas {
    private ExpertAtlas() {
    }

    /**
     * The atlas of {@code stats} and {@code top}.
     *
     * @param model the model's name or path, as the pages title it
     * @throws IllegalArgumentException when the two do not hold the same experts
     */
    public static Atlas of(String model, ExpertStatistics stats, TopContexts top) {
        Objects.requireNonNull(model, "model");
        int n = stats.codeSpace();
        List<TopContexts.Expert> experts = top.experts();
        if (experts.size() != n) {
            throw new IllegalArgumentException("the top contexts hold " + experts.size() + " experts but the statistics "
                    + n + ": they are not of the same model (./mxd top --all writes every expert)");
        }
        for (int e = 0; e < n; e++) {
            if (experts.get(e).expert() != e) {
                throw new IllegalArgumentException("the top contexts list expert " + experts.get(e).expert()
                        + " in place " + e + ": not a file of ./mxd top --all");
            }
        }
        double[] lower = ExpertStatistics.binLowerEdges();
        double[] edges = Arrays.copyOf(lower, lower.length + 1);
        // The last bin is open above; its nominal upper edge keeps the quarter-decade spacing.
        edges[lower.length] = lower[lower.length - 1] * Math.pow(10, 1.0 / ExpertStatistics.BINS_PER_DECADE);
        return Atlas.of(model, n, stats.tokens(), edges, e -> {
            TopContexts.Expert t = experts.get(e);
            // The statistics give an expert that never fired no mean or maximum (NaN); the atlas says 0.
            long count = stats.count(e);
            return new Atlas.Expert(e, count, count == 0 ? 0 : stats.mean(e), count == 0 ? 0 : stats.max(e),
                    stats.histogram(e),
                    t.examples().stream().map(ExpertAtlas::example).toList(),
                    t.samples().stream().map(ExpertAtlas::example).toList());
        });
    }

    /** An example with its context joined: the firing token's span is where {@code before} ends. */
    static Atlas.Example example(TopContexts.Example x) {
        String note = x.quantile() == null ? "" : "quantile " + Pages.num(x.quantile());
        if (x.context() == null) {
            String text = "token " + x.token();
            return new Atlas.Example(x.doc(), x.pos(), x.value(), text, 0, text.length(), note);
        }
        TopContexts.Context c = x.context();
        int start = c.before().length();
        return new Atlas.Example(x.doc(), x.pos(), x.value(), c.before() + c.text() + c.after(), start,
                start + c.text().length(), note);
    }
}
