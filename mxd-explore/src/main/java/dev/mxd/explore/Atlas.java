package dev.mxd.explore;

import java.util.List;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * What the explorer shows of a model's experts (for a TC or STC: its hidden units): per expert its firing
 * statistics over a split of an activation directory, a histogram of its values, its highest-valued contexts and
 * samples from lower quantiles. Implementations may compute or read each expert on demand: {@link #expert} is called
 * once per expert, in order, when the site is written.
 */
public interface Atlas {

    /** The model's name or path, as the pages title it. */
    String model();

    /** N: the experts, numbered 0 to N − 1. */
    int experts();

    /** The tokens the statistics were counted over. */
    long tokens();

    /**
     * The edges of every expert's value histogram, ascending: bin b holds values in [edges[b], edges[b + 1]);
     * the last bin also holds values above its upper edge. B + 1 values for B bins.
     */
    double[] binEdges();

    /**
     * Expert {@code n}.
     *
     * @throws IllegalArgumentException for n outside [0, {@link #experts()})
     */
    Expert expert(int n);

    /**
     * An atlas over experts held in memory.
     *
     * @param experts expert i at index i
     * @throws IllegalArgumentException when an expert's id is not its index or its histogram has not B bins
     */
    static Atlas of(String model, long tokens, double[] binEdges, List<Expert> experts) {
        Objects.requireNonNull(model, "model");
        double[] edges = binEdges.clone();
        List<Expert> all = List.copyOf(experts);
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).id() != i || all.get(i).histogram().length != edges.length - 1) {
                throw new IllegalArgumentException("expert at index " + i + " has id " + all.get(i).id() + " and "
                        + all.get(i).histogram().length + " bins; expected id " + i + " and " + (edges.length - 1));
            }
        }
        return of(model, all.size(), tokens, edges, all::get);
    }

    /**
     * An atlas whose experts are made when asked for, each time: {@code expert} need not keep them.
     *
     * @param experts  N
     * @param binEdges as {@link #binEdges()} returns them (copied)
     * @param expert   makes expert n; called only for n in [0, N)
     */
    static Atlas of(String model, int experts, long tokens, double[] binEdges, IntFunction<Expert> expert) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(expert, "expert");
        double[] edges = binEdges.clone();
        return new Atlas() {
            @Override
            public String model() {
                return model;
            }

            @Override
            public int experts() {
                return experts;
            }

            @Override
            public long tokens() {
                return tokens;
            }

            @Override
            public double[] binEdges() {
                return edges.clone();
            }

            @Override
            public Expert expert(int n) {
                Objects.checkIndex(n, experts);
                return expert.apply(n);
            }
        };
    }

    /**
     * One expert.
     *
     * @param id        its index
     * @param count     the tokens it fired on (a non-zero code)
     * @param mean      its mean value over the tokens it fired on (0 when it never fired)
     * @param max       its largest value (0 when it never fired)
     * @param histogram counts per bin of {@link #binEdges()}, B values
     * @param top       its highest-valued contexts, highest first
     * @param samples   contexts from lower quantiles, each with a {@link Example#note()} saying which
     */
    record Expert(int id, long count, double mean, double max, long[] histogram, List<Example> top,
                  List<Example> samples) {
        public Expert {
            Objects.requireNonNull(histogram, "histogram");
            top = List.copyOf(top);
            samples = List.copyOf(samples);
        }
    }

    /**
     * One token where an expert fired, in its document's original text.
     *
     * @param doc   the document's index in the corpus
     * @param pos   the token's position in the document's sequence ({@code [CLS]} is 0)
     * @param value the expert's value there
     * @param text  the text around the token, as written in the document
     * @param start the firing token's first char in {@code text}
     * @param end   one past its last char; {@code start ≤ end ≤ text.length()}
     * @param note  what the example stands for (e.g. a quantile), or an empty string
     */
    record Example(int doc, int pos, double value, String text, int start, int end, String note) {
        public Example {
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(note, "note");
            if (start < 0 || start > end || end > text.length()) {
                throw new IllegalArgumentException("token span [" + start + ", " + end + ") is outside the context of "
                        + text.length() + " chars (document " + doc + ", position " + pos + ")");
            }
        }
    }
}
