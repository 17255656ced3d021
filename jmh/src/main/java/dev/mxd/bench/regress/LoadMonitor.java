package dev.mxd.bench.regress;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.format.OutputFormat;

/**
 * How much of the machine other processes wanted during each measured iteration of a JMH run: JMH's usual output,
 * plus a sampler that, while an iteration runs, reads every {@value #PERIOD_MS} ms the number of runnable tasks
 * of the machine ({@code procs_running} of {@code /proc/stat}) less the runnable threads of the benchmark's fork
 * and the sampler itself. The mean over an iteration is its <em>other load</em>: 0 on a quiet machine, 6 when six
 * threads of other processes competed for the cores. It is the demand of the others, not what they got, so it
 * does not change when the benchmark itself uses fewer threads.
 *
 * <p>JMH calls an {@link OutputFormat} in this (the host) JVM when a fork starts and ends an iteration, which is
 * when sampling starts and stops. Where {@code /proc} is missing (not Linux) nothing is recorded.
 */
final class LoadMonitor implements OutputFormat {
    static final int PERIOD_MS = 50;
    private static final Path PROC_STAT = Path.of("/proc/stat");

    private final OutputFormat out;
    private final Map<String, List<Double>> loads = new HashMap<>();
    private Thread sampler;
    private volatile boolean sampling;
    private double sum;
    private int samples;

    /** @param out JMH's own output, which every call is passed on to */
    LoadMonitor(OutputFormat out) {
        this.out = out;
    }

    /**
     * The other load of each measured iteration, in order over the forks, of the benchmark with this
     * {@link #key(String, Map, Collection)}; empty when none was recorded.
     */
    synchronized List<Double> loads(String key) {
        return loads.getOrDefault(key, List.of());
    }

    /** What identifies a benchmark's run: its name, its params and the JVM arguments of its fork. */
    static String key(String benchmark, Map<String, String> params, Collection<String> jvmArgs) {
        return benchmark + " " + new TreeMap<>(params) + " " + List.copyOf(jvmArgs);
    }

    @Override
    public synchronized void iteration(BenchmarkParams benchmark, IterationParams iteration, int index) {
        out.iteration(benchmark, iteration, index);
        if (iteration.getType() == IterationType.MEASUREMENT && Files.isReadable(PROC_STAT)) {
            start();
        }
    }

    @Override
    public void iterationResult(BenchmarkParams benchmark, IterationParams iteration, int index, IterationResult r) {
        out.iterationResult(benchmark, iteration, index, r);
        if (iteration.getType() == IterationType.MEASUREMENT) {
            double load = stop();
            if (!Double.isNaN(load)) {
                synchronized (this) {
                    Map<String, String> params = new HashMap<>();
                    benchmark.getParamsKeys().forEach(k -> params.put(k, benchmark.getParam(k)));
                    loads.computeIfAbsent(key(benchmark.getBenchmark(), params, benchmark.getJvmArgs()),
                            k -> new ArrayList<>()).add(load);
                }
            }
        }
    }

    private synchronized void start() {
        sum = 0;
        samples = 0;
        sampling = true;
        sampler = Thread.ofPlatform().daemon().name("mxd-load-monitor").start(() -> {
            while (sampling) {
                sample();
                try {
                    Thread.sleep(PERIOD_MS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Stops sampling; returns the iteration's mean other load, NaN when nothing was sampled. */
    private double stop() {
        Thread t;
        synchronized (this) {
            t = sampler;
            sampler = null;
            sampling = false;
        }
        if (t == null) {
            return Double.NaN;
        }
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            return samples == 0 ? Double.NaN : sum / samples;
        }
    }

    private void sample() {
        Optional<ProcessHandle> fork = ProcessHandle.current().children().findFirst();
        try {
            int running = procsRunning();
            int ours = fork.map(f -> runnableThreads(f.pid())).orElse(0);
            synchronized (this) {
                // the sampler itself is running while it reads
                sum += Math.max(0, running - ours - 1);
                samples++;
            }
        } catch (IOException | RuntimeException e) {
            // a fork that ended between listing and reading, or no /proc: skip this sample
        }
    }

    private static int procsRunning() throws IOException {
        for (String line : Files.readAllLines(PROC_STAT, StandardCharsets.US_ASCII)) {
            if (line.startsWith("procs_running ")) {
                return Integer.parseInt(line.substring("procs_running ".length()).strip());
            }
        }
        throw new IOException("no procs_running in " + PROC_STAT);
    }

    /** Threads of the process in state R ({@code /proc/PID/task/TID/stat}: the state follows the name's ")"). */
    private static int runnableThreads(long pid) {
        int running = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                try {
                    String stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
                    int close = stat.lastIndexOf(')');
                    if (close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'R') {
                        running++;
                    }
                } catch (IOException e) {
                    // the thread ended
                }
            }
        } catch (IOException e) {
            // the fork ended
        }
        return running;
    }

    @Override
    public void startBenchmark(BenchmarkParams benchmark) {
        out.startBenchmark(benchmark);
    }

    @Override
    public void endBenchmark(BenchmarkResult result) {
        out.endBenchmark(result);
    }

    @Override
    public void startRun() {
        out.startRun();
    }

    @Override
    public void endRun(Collection<RunResult> result) {
        out.endRun(result);
    }

    @Override
    public void print(String s) {
        out.print(s);
    }

    @Override
    public void println(String s) {
        out.println(s);
    }

    @Override
    public void flush() {
        out.flush();
    }

    /** Flushes only: JMH's output is this JVM's System.out, which must stay open after the run. */
    @Override
    public void close() {
        out.flush();
    }

    @Override
    public void verbosePrintln(String s) {
        out.verbosePrintln(s);
    }

    @Override
    public void write(int b) {
        out.write(b);
    }

    @Override
    public void write(byte[] b) throws IOException {
        out.write(b);
    }
}
