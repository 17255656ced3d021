package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Kind;
import dev.mxd.checkpoint.AtomicWrite;
import dev.mxd.text.TextSources;
import dev.mxd.text.probe.DocumentLabels;
import dev.mxd.text.probe.SparseProbing;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import picocli.CommandLine;

/** How {@code ./mxd demo} ends: the experts of its models, read with {@code probe}, {@code top} and {@code steer}. */
final class DemoExperts {
    /** The K whose models the demo reads at the end. */
    static final int EXPERTS_K = 32;
    /** The steering row's value, added at every token. */
    static final float STEER_VALUE = 20;

    private DemoExperts() {
    }

    /**
     * The experts of the models at K = {@value #EXPERTS_K} (else the largest K trained): the probing table (written
     * to DIR/probes.json), the top contexts of the best-F1 experts of three languages, and one steering row (the
     * best-F1 language but English, value {@value #STEER_VALUE}; DIR/steer.json and .png). Returns its seconds.
     * When the text has too few languages to probe, says so and skips the rest.
     */
    static double run(PrintWriter log, TextSources texts, Supplier<DocumentLabels.Labeler> labelers, Path out, Path acts,
            List<DemoResults.Row> rows, Backend backend) throws Exception {
        long t0 = System.nanoTime();
        int k = rows.stream().anyMatch(r -> r.k() == EXPERTS_K) ? EXPERTS_K
                : rows.stream().mapToInt(DemoResults.Row::k).max().orElse(0);
        List<DemoResults.Row> atK = rows.stream().filter(r -> r.k() == k).toList();
        if (atK.isEmpty()) {
            return 0;
        }
        log.printf(Locale.ROOT, "%n== the experts of the K = %d models ==%n", k);
        ProbeCommand.Report report;
        try {
            report = ProbeCommand.run(log, texts, labelers, acts, atK.stream().map(DemoResults.Row::model).toList(),
                    SparseProbing.Settings.DEFAULT, backend);
        } catch (IllegalArgumentException e) {
            log.printf("experts skipped: %s%n", e.getMessage());
            return (System.nanoTime() - t0) / 1e9;
        }
        Path probes = out.resolve("probes.json");
        AtomicWrite.writeString(probes, report.json() + "\n");
        log.println();
        log.print(report.table());
        ProbeCommand.ModelProbes mxd = report.models().stream().filter(m -> m.config().kind() == Kind.MXD).findFirst()
                .orElse(report.models().get(0));
        List<SparseProbing.ClassResult> best = mxd.classes().stream()
                .sorted(Comparator.comparingDouble((SparseProbing.ClassResult c) -> -c.bestF1())
                        .thenComparing(SparseProbing.ClassResult::label)).toList();
        log.printf(Locale.ROOT, "%nthree experts of %s, the best-F1 experts of %s:%n", mxd.name(),
                best.stream().limit(3).map(c -> c.label() + " (" + c.bestCode() + ", F1 " + String.format(Locale.ROOT,
                        "%.3f", c.bestF1()) + ")").toList());
        for (SparseProbing.ClassResult c : best.subList(0, Math.min(3, best.size()))) {
            topContexts(log, mxd.model(), acts, c.bestCode());
        }
        String lang = best.stream().map(SparseProbing.ClassResult::label).filter(l -> !l.equals("en")).findFirst()
                .orElse(null);
        if (lang == null) {
            log.println("no steering row: English is the only language probed");
        } else {
            try {
                SteerCommand.Experiment e = SteerCommand.experiment(log, texts, labelers, mxd.model(), acts, probes,
                        List.of(lang), List.of(STEER_VALUE), 16, backend);
                Path steer = out.resolve("steer.json");
                SteerCommand.write(e, steer);
                log.println();
                log.print(e.table());
                log.printf("(./mxd steer --model %s --data %s --probes %s --out FILE sweeps every language and value)%n",
                        mxd.model(), acts, probes);
            } catch (IllegalArgumentException e) {
                log.printf("no steering row: %s%n", e.getMessage());
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** One expert's five top-activating contexts on the held-out split, as {@code ./mxd top} prints them. */
    private static void topContexts(PrintWriter log, Path model, Path acts, int expert) {
        log.println();
        CommandLine top = new CommandLine(new TopCommand());
        top.setOut(log);
        top.setErr(log);
        top.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            log.printf("top contexts of expert %d: %s%n", expert, Main.describe(ex));
            return 1;
        });
        top.execute("--model", model.toString(), "--data", acts.toString(), "--expert", Integer.toString(expert),
                "--m", "5");
        log.flush();
    }
}
