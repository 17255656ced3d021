package dev.mxd.bench.regress;

import java.util.Map;
import java.util.TreeMap;

/**
 * One result of one benchmark in a JMH JSON result: its primary score ({@code metric} empty) or a secondary one
 * ({@code metric} = {@code tokens}, {@code gflops}), with every measured iteration of every fork.
 *
 * @param benchmark the method without the package, e.g. {@code ForwardBenchmark.simd}
 * @param metric    empty for the primary score, else the secondary result's name
 * @param params    JMH's {@code @Param} values, e.g. {@code shape=small}
 * @param backend   the fork's {@code -Dmxd.backend} ({@code cpu} when it had none, as the benchmarks default)
 * @param mode      JMH's mode: {@code thrpt} (higher is better) or a time mode ({@code avgt}, {@code sample},
 *                  {@code ss}: lower is better)
 * @param unit      JMH's score unit, e.g. {@code ops/s}
 * @param score     JMH's score (the mean of the samples for throughput and average time)
 * @param error     JMH's 99.9 % confidence half-width of the score; NaN when JMH gave none
 * @param samples   the measured iterations of all forks, in order
 * @param forkSizes how many of {@code samples} each fork measured, in order (they sum to {@code samples.length})
 * @param otherLoad the other processes' runnable threads during each of those iterations ({@link LoadMonitor}),
 *                  or empty when not recorded
 */
record Score(String benchmark, String metric, Map<String, String> params, String backend, String mode, String unit,
        double score, double error, double[] samples, int[] forkSizes, double[] otherLoad) {

    /** The package JMH names the benchmarks with, left out of every label. */
    static final String PACKAGE = "dev.mxd.bench.";

    Score {
        params = new TreeMap<>(params);
        int total = 0;
        for (int size : forkSizes) {
            if (size <= 0) {
                throw new BadInputException(benchmark + " has a fork with no measured iteration");
            }
            total += size;
        }
        if (total != samples.length) {
            throw new BadInputException(benchmark + " has " + samples.length + " iterations but its forks hold "
                    + total);
        }
        if (otherLoad.length != 0 && otherLoad.length != samples.length) {
            throw new BadInputException(benchmark + " has " + samples.length + " iterations but the other load of "
                    + otherLoad.length);
        }
    }

    /** The number of forks (for a suite run in {@link Rounds}: of rounds). */
    int forks() {
        return forkSizes.length;
    }

    /** The mean of each fork's values of {@code perIteration} (one value per sample, in the samples' order). */
    double[] forkMeans(double[] perIteration) {
        double[] means = new double[forkSizes.length];
        int at = 0;
        for (int f = 0; f < forkSizes.length; f++) {
            double sum = 0;
            for (int i = 0; i < forkSizes[f]; i++) {
                sum += perIteration[at++];
            }
            means[f] = sum / forkSizes[f];
        }
        return means;
    }

    /** What identifies this result across runs: {@code ForwardBenchmark.simd:tokens shape=small @cpu}. */
    String key() {
        return keyOf(benchmark);
    }

    /** The key this result would have if it came from {@code otherBenchmark} of the same run, same params. */
    String keyOf(String otherBenchmark) {
        return label(otherBenchmark, metric);
    }

    /** The benchmark this score belongs to, without the metric: {@code ForwardBenchmark.simd shape=small @cpu}. */
    String benchmarkLabel() {
        return label(benchmark, "");
    }

    private String label(String name, String metricName) {
        StringBuilder b = new StringBuilder(name);
        if (!metricName.isEmpty()) {
            b.append(':').append(metricName);
        }
        params.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
        return b.append(" @").append(backend).toString();
    }

    /** Whether a larger score is faster: throughput is, time per operation is not. */
    boolean higherIsBetter() {
        return mode.equals("thrpt");
    }
}
