package dev.mxd.bench.regress;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The performance-regression runs ({@code ./mxd bench --quick|--full ...}, {@code ./mxd bench history ...}):
 * <pre>
 * ./mxd bench --quick|--full [--save-baseline FILE] [--compare FILE] [--threshold 0.10] [--history FILE | --no-history]
 * ./mxd bench --compare FILE --input RUN.json [--threshold 0.10]     compares a saved run; times nothing
 * ./mxd bench history --plot FILE.png [--history FILE]
 * </pre>
 * A run measures the {@link Suite}, writes {@code {"environment": {...}, "jmh": [...]}} to the baseline file when
 * asked, appends it to the history file (default {@code .mxd/bench-history.jsonl} of the checkout), and with
 * {@code --compare} prints the {@link CompareTable}. Exit code 1 when the comparison finds a regression (or a
 * baseline benchmark this run lacks), 0 when it finds none or nothing was compared, 2 on a usage or input error
 * or a run that could not be made.
 */
public final class RegressMain {
    /** The checkout whose commit a run records ({@code jmh/run} sets it); default the working directory. */
    static final String ROOT_PROPERTY = Environment.OWN_PROPERTIES + "root";
    /** The default history file ({@code jmh/run} sets it); default {@code .mxd/bench-history.jsonl}. */
    static final String HISTORY_PROPERTY = Environment.OWN_PROPERTIES + "history";

    static final String USAGE = """
            usage: ./mxd bench --quick|--full [--save-baseline FILE] [--compare FILE] [--threshold 0.10]
                                              [--history FILE | --no-history]
                   ./mxd bench --compare FILE --input RUN.json [--threshold 0.10]   (compares a saved run)
                   ./mxd bench history --plot FILE.png [--history FILE]
            exit code: 1 regression, 0 none, 2 usage or input error (docs/BENCHMARKS.md)""";

    private RegressMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** The whole command; returns its exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Arguments a;
        try {
            a = Arguments.parse(args);
        } catch (BadInputException e) {
            err.println("bench: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        try {
            return a.plot() != null ? plot(a, out) : measureAndCompare(a, args, out, err);
        } catch (BadInputException | IllegalArgumentException e) {
            err.println("bench: " + e.getMessage());
            return 2;
        } catch (IOException | RuntimeException e) {
            err.println("bench: the run failed: " + e);
            return 2;
        }
    }

    private static int plot(Arguments a, PrintStream out) throws IOException {
        Path history = a.history() != null ? a.history() : defaultHistory();
        List<RunDocument> runs = History.read(history);
        int panels = HistoryPlot.write(runs, a.plot());
        out.println("bench: plotted " + panels + " benchmarks over " + runs.size() + " runs of " + history + " to "
                + a.plot());
        return 0;
    }

    private static int measureAndCompare(Arguments a, String[] args, PrintStream out, PrintStream err)
            throws IOException {
        // read the baseline before a run of minutes, so a wrong path fails at once
        RunDocument baseline = a.compare() == null ? null : RunDocument.read(a.compare());
        RunDocument now;
        if (a.input() != null) {
            now = RunDocument.read(a.input());
        } else {
            now = measure(a.suite(), args, out);
            if (a.saveBaseline() != null) {
                now.write(a.saveBaseline());
                out.println("bench: saved the run to " + a.saveBaseline());
            }
            if (!a.noHistory()) {
                Path history = a.history() != null ? a.history() : defaultHistory();
                History.append(history, now);
                out.println("bench: appended the run to " + history);
            }
        }
        if (baseline == null) {
            return 0;
        }
        Comparison c = new Comparison(baseline, now, a.threshold());
        out.println();
        out.println("bench: " + now.source() + " against the baseline " + baseline.source());
        CompareTable.print(c, out);
        return c.failed() ? 1 : 0;
    }

    private static RunDocument measure(Suite suite, String[] args, PrintStream out) throws IOException {
        Path root = Path.of(System.getProperty(ROOT_PROPERTY, "."));
        ObjectNode env = Environment.collect(root, suite.name());
        env.put("arguments", String.join(" ", args));
        long start = System.nanoTime();
        Path scratch = Files.createTempDirectory("mxd-bench-");
        try {
            var jmh = suite.run(scratch);
            env.put("wallSeconds", Math.round((System.nanoTime() - start) / 1e9));
            out.printf(Locale.ROOT, "bench: the %s suite took %.0f s%n", suite.name(), (System.nanoTime() - start) / 1e9);
            return new RunDocument(env, jmh, "this run");
        } finally {
            Files.deleteIfExists(scratch);
        }
    }

    private static Path defaultHistory() {
        return Path.of(System.getProperty(HISTORY_PROPERTY, ".mxd/bench-history.jsonl"));
    }
}
