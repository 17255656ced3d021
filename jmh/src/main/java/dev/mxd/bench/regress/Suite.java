package dev.mxd.bench.regress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.Backend;
import dev.mxd.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The benchmarks of a regression run and how long each is measured, run through JMH's {@link Runner} (forks
 * inherit this JVM's flags and {@code -D} options): SGEMM (mxd and OpenBLAS), the fused gate + TopK
 * ({@code GateTopKBenchmark}), the forward ({@code ForwardBenchmark}) and the training step
 * ({@code TrainBenchmark}) for each available backend, the scalar paths on the CPU backend as calibrations.
 *
 * <p>The suite runs in {@link Rounds}: every benchmark in one fork, then every benchmark again in a new fork, so
 * that each benchmark's forks are spread over the whole run and a burst of load from another process reaches one
 * fork of it, not all. The fork is the unit of the {@link Comparison}'s test, so the round counts give it its power:
 * with f forks on each side the smallest p the {@link MannWhitney} test can give is 1 / C(2f, f), 0.0040 for the
 * quick suite's 5 rounds and 0.0011 for the full suite's 6, below {@link Comparison#ALPHA}. Quick forks are short
 * (1 warm-up and 2 measured one-second iterations: the small shape runs hundreds of operations a second, so the
 * JIT has compiled the kernels within the first) so that five rounds fit in under 5 minutes on 2 cores.
 *
 * @param name              {@code quick} or {@code full}
 * @param shapes            the MxD shapes ({@code small}, {@code gpt2})
 * @param sgemmSizes        the SGEMM sizes n
 * @param rounds            rounds of the suite, one JMH fork per benchmark each
 * @param warmups           warm-up iterations per fork
 * @param iterations        measured iterations per fork
 * @param iterationSeconds  length of each iteration, warm-up or measured
 */
record Suite(String name, String[] shapes, String[] sgemmSizes, int rounds, int warmups, int iterations,
        int iterationSeconds) {

    /** Small shape, SGEMM 1024, 5 rounds of 1 + 2 one-second iterations: under 5 minutes on 2 cores. */
    static final Suite QUICK = new Suite("quick", new String[] {"small"}, new String[] {"1024"}, 5, 1, 2, 1);
    /** Both shapes (small and GPT-2), SGEMM 1024 and 2048, 6 rounds of 2 + 3 two-second iterations. */
    static final Suite FULL = new Suite("full", new String[] {"small", "gpt2"}, new String[] {"1024", "2048"}, 6, 2, 3,
            2);

    /**
     * Runs the suite and returns JMH's JSON result list of all its benchmarks.
     *
     * @param scratch a directory for JMH's result files
     * @throws IllegalStateException when JMH fails as a whole (a failing benchmark is left out of the results, and
     *                               then reported by a comparison as missing)
     */
    ArrayNode run(Path scratch) throws IOException {
        Rounds joined = new Rounds();
        List<Backend> backends = backends();
        for (int round = 1; round <= rounds; round++) {
            for (Backend backend : backends) {
                runOnce(backend, round, scratch).forEach(joined::add);
            }
        }
        ArrayNode all = RunDocument.JSON.createArrayNode();
        joined.results().forEach(all::add);
        return all;
    }

    /** One round of the benchmarks of one backend: JMH's results, each with its other load. */
    private List<ObjectNode> runOnce(Backend backend, int round, Path scratch) throws IOException {
        List<ObjectNode> results = new ArrayList<>();
        String include = include(backend);
        Path result = Files.createTempFile(scratch, "jmh-" + backend.name() + "-", ".json");
        ChainedOptionsBuilder options = new OptionsBuilder().include(include)
                .param("shape", shapes).param("size", sgemmSizes)
                .forks(1).warmupIterations(warmups).warmupTime(TimeValue.seconds(iterationSeconds))
                .measurementIterations(iterations).measurementTime(TimeValue.seconds(iterationSeconds))
                .resultFormat(ResultFormatType.JSON).result(result.toString());
        if (System.getProperty(Backends.PROPERTY) == null) {
            // prepended: this JVM's own arguments follow, and the benchmarks' jvmArgsAppend (-Dmxd.simd.bits=0)
            options.jvmArgsPrepend("-D" + Backends.PROPERTY + "=" + backend.name());
        }
        System.out.println("regression run (" + name + "), round " + round + " of " + rounds + ": backend "
                + backend.name() + ": " + include);
        LoadMonitor monitor = new LoadMonitor(OutputFormatFactory.createFormatInstance(System.out,
                VerboseMode.NORMAL));
        try {
            new Runner(options.build(), monitor).run();
        } catch (RunnerException e) {
            throw new IllegalStateException("JMH failed on backend " + backend.name() + ": " + e.getMessage(), e);
        }
        if (Files.size(result) > 0) {
            for (JsonNode entry : RunDocument.JSON.readTree(result.toFile())) {
                results.add(withLoad((ObjectNode) entry, monitor));
            }
        }
        Files.deleteIfExists(result);
        return results;
    }

    /** Adds the other load of each measured iteration to JMH's result of one benchmark, when it has one for each. */
    private static ObjectNode withLoad(ObjectNode result, LoadMonitor monitor) {
        Map<String, String> params = new HashMap<>();
        result.path("params").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
        List<String> jvmArgs = new ArrayList<>();
        result.path("jvmArgs").forEach(a -> jvmArgs.add(a.asText()));
        List<Double> loads = monitor.loads(LoadMonitor.key(result.path("benchmark").asText(), params, jvmArgs));
        int iterations = 0;
        for (JsonNode fork : result.path("primaryMetric").path("rawData")) {
            iterations += fork.size();
        }
        if (!loads.isEmpty() && loads.size() == iterations) {
            ArrayNode list = result.putArray(RunDocument.OTHER_LOAD);
            loads.forEach(l -> list.add(Math.round(l * 100) / 100.0));
        }
        return result;
    }

    /** The benchmarks for one backend: SGEMM and the scalar calibrations run with the CPU backend only. */
    private static String include(Backend backend) {
        List<String> parts = new ArrayList<>();
        boolean cpu = backend.name().equals("cpu");
        if (cpu) {
            parts.add("SgemmBenchmark\\.(mxd|openblas)");
        }
        String methods = cpu ? "(simd|scalar)" : "simd";
        parts.add("GateTopKBenchmark\\." + methods);
        parts.add("ForwardBenchmark\\." + methods);
        if (backend.trains()) {
            parts.add("TrainBenchmark\\.step");
        }
        return "^dev\\.mxd\\.bench\\.(" + String.join("|", parts) + ")$";
    }

    /**
     * The backends to run: the one {@code -Dmxd.backend} names, else every installed and available one but the
     * float64 reference (the oracle, not a thing whose speed regresses).
     */
    private static List<Backend> backends() {
        String named = System.getProperty(Backends.PROPERTY);
        if (named != null) {
            return List.of(Backends.select(named));
        }
        return Backends.installed().stream().filter(b -> !b.name().equals("reference"))
                .filter(b -> b.availability().available()).toList();
    }
}
