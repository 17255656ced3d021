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
 * @param otherLoad the other processes' runnable threads during each of those iterations ({@link LoadMonitor}),
 *                  or empty when not recorded
 */
record Score(String benchmark, String metric, Map<String, String> params, String backend, String mode, String unit,
        double score, double error, double[] samples, double[] otherLoad) {

    /** The package JMH names the benchmarks with, left out of every label. */
    static final String PACKAGE = "dev.mxd.bench.";

    Score {
        params = new TreeMap<>(params);
        if (otherLoad.length != 0 && otherLoad.length != samples.length) {
            throw new BadInputException(benchmark + " has " + samples.length + " iterations but the other load of "
                    + otherLoad.length);
        }
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
