package dev.mxd.explore;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * An atlas of any size made up from a seed, for timing the site at the paper's N = 21,490: per expert a firing
 * count, 34 log-spaced bins (4 a decade from 1e-4, as {@code ./mxd stats} writes), M top contexts of about 20 words
 * each and 5 quantile samples. Each expert is made when asked for, so the atlas holds no more than one.
 */
final class SyntheticAtlas {
    private static final String[] WORDS = ("the parliament council vote report motion agenda member state debate"
            + " proposal union commission budget amendment directive regulation president committee question").split(" ");
    private final int m;
    private final long tokens;
    private final double[] edges;

    private SyntheticAtlas(int m, long tokens) {
        this.m = m;
        this.tokens = tokens;
        this.edges = new double[35];
        for (int b = 0; b < edges.length; b++) {
            edges[b] = 1e-4 * Math.pow(10, b / 4.0);
        }
    }

    /** The atlas of {@code experts} experts with {@code m} top contexts each, counted over {@code tokens} tokens. */
    static Atlas of(int experts, int m, long tokens) {
        SyntheticAtlas s = new SyntheticAtlas(m, tokens);
        return Atlas.of("synthetic atlas of " + experts + " experts", experts, tokens, s.edges, s::expert);
    }

    private Atlas.Expert expert(int n) {
        SplittableRandom r = new SplittableRandom(n * 7919L + 1);
        long count = n % 5 == 0 ? 0 : r.nextLong(tokens / 20);
        long[] hist = new long[edges.length - 1];
        double max = 0, sum = 0;
        for (long c = 0; c < Math.min(count, 2000); c++) {
            int b = Math.min(hist.length - 1, (int) Math.abs(r.nextGaussian() * 6 + 18));
            hist[b] += Math.max(1, count / 2000);
            max = Math.max(max, edges[b + 1]);
            sum += edges[b];
        }
        List<Atlas.Example> top = new ArrayList<>();
        List<Atlas.Example> samples = new ArrayList<>();
        if (count > 0) {
            for (int i = 0; i < m; i++) {
                top.add(example(r, max * (1 - 0.02 * i), ""));
            }
            for (double q : new double[]{0.1, 0.3, 0.5, 0.7, 0.9}) {
                samples.add(example(r, max * q * 0.5, "quantile " + q));
            }
        }
        return new Atlas.Expert(n, count, count == 0 ? 0 : sum / Math.min(count, 2000), max, hist, top, samples);
    }

    private static Atlas.Example example(SplittableRandom r, double value, String note) {
        StringBuilder b = new StringBuilder();
        for (int w = 0; w < 10; w++) {
            b.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
        }
        int start = b.length();
        String token = WORDS[r.nextInt(WORDS.length)];
        b.append(token);
        for (int w = 0; w < 10; w++) {
            b.append(' ').append(WORDS[r.nextInt(WORDS.length)]);
        }
        return new Atlas.Example(r.nextInt(100_000), 1 + r.nextInt(127), value, b.toString(), start, start + token.length(),
                note);
    }
}
