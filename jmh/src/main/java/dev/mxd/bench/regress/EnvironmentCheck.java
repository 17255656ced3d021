package dev.mxd.bench.regress;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What differs between the environments of a baseline and a run, as warnings for the compare table: another CPU
 * or core count (raw scores do not carry over; the normalised ones do), another JDK (the JIT changes), other JVM
 * flags or {@code mxd.*} properties, other preset, and a machine busy with other work when either run started.
 */
final class EnvironmentCheck {
    private EnvironmentCheck() {
    }

    static List<String> differences(RunDocument baseline, RunDocument now) {
        List<String> w = new ArrayList<>();
        if (baseline.environment().isEmpty() || now.environment().isEmpty()) {
            w.add("no recorded environment in " + (baseline.environment().isEmpty() ? baseline.source() : now.source())
                    + " (a bare JMH result?): machine and JDK cannot be checked");
            return w;
        }
        differ(w, baseline, now, "cpu.model", "another CPU",
                "raw scores do not carry over between machines; judge by the normalised column");
        differ(w, baseline, now, "cpu.cores", "another number of cores", "multi-threaded scores scale with it");
        differ(w, baseline, now, "jdk.version", "another JDK", "JIT changes show up as score changes");
        differ(w, baseline, now, "jvmFlags", "other JVM flags", "");
        differ(w, baseline, now, "mxdProperties", "other mxd.* properties", "");
        differ(w, baseline, now, "openblas", "another OpenBLAS", "the SGEMM calibration moves with it");
        differ(w, baseline, now, "preset", "another preset", "");
        busy(w, baseline);
        busy(w, now);
        return w;
    }

    private static void differ(List<String> w, RunDocument b, RunDocument n, String field, String what, String why) {
        String before = b.env(field);
        String after = n.env(field);
        if (!before.equals(after)) {
            w.add(what + ": baseline " + orNone(before) + ", this run " + orNone(after) + (why.isEmpty() ? "" : "; " + why));
        }
    }

    private static void busy(List<String> w, RunDocument d) {
        String load = d.env("loadAverageAtStart");
        String cores = d.env("cpu.cores");
        if (load.isEmpty() || cores.isEmpty()) {
            return;
        }
        double l = Double.parseDouble(load);
        if (l > 0.5 * Double.parseDouble(cores)) {
            w.add(String.format(Locale.ROOT, "%s started on a busy machine (load average %.2f on %s cores): other"
                    + " processes take cores from multi-threaded benchmarks; rerun on a quiet machine before"
                    + " believing a change", d.source(), l, cores));
        }
    }

    private static String orNone(String s) {
        return s.isEmpty() ? "(none)" : s;
    }
}
