package dev.mxd.bench.regress;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.bench.OpenBlas;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The environment of a regression run, recorded beside JMH's results so that a comparison can say when the two
 * runs are not alike: CPU model and flags, cores, JDK, JVM flags, {@code mxd.*} properties, the backends and
 * OpenBLAS (library and core type), commit and date, and the load average when the run started.
 */
final class Environment {
    /** Properties of the regression driver itself, not of what it measures: left out of the record. */
    static final String OWN_PROPERTIES = "mxd.regress.";

    private Environment() {
    }

    /**
     * @param root   the checkout whose commit is recorded
     * @param preset {@code quick} or {@code full}
     */
    static ObjectNode collect(Path root, String preset) {
        ObjectNode env = RunDocument.JSON.createObjectNode();
        env.put("date", OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).toString());
        env.put("commit", git(root, "rev-parse", "--short=12", "HEAD"));
        env.put("dirty", !git(root, "status", "--porcelain", "--untracked-files=no").isEmpty());
        env.put("preset", preset);
        ObjectNode cpu = env.putObject("cpu");
        cpu.put("model", cpuInfo("model name"));
        cpu.put("flags", cpuInfo("flags"));
        cpu.put("cores", Runtime.getRuntime().availableProcessors());
        ObjectNode jdk = env.putObject("jdk");
        jdk.put("version", System.getProperty("java.version"));
        jdk.put("vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        jdk.put("vendor", System.getProperty("java.vendor"));
        ArrayNode flags = env.putArray("jvmFlags");
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-D" + OWN_PROPERTIES)).forEach(flags::add);
        ObjectNode props = env.putObject("mxdProperties");
        new TreeMap<>(System.getProperties()).forEach((k, v) -> {
            String key = k.toString();
            if (key.startsWith("mxd.") && !key.startsWith(OWN_PROPERTIES)) {
                props.put(key, v.toString());
            }
        });
        env.put("openblas", openBlas());
        ObjectNode backends = env.putObject("backends");
        for (Backend b : Backends.installed()) {
            backends.put(b.name(), b.availability().detail());
        }
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        env.put("loadAverageAtStart", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        return env;
    }

    private static String openBlas() {
        try {
            return OpenBlas.get().describe();
        } catch (RuntimeException e) {
            return "absent: " + e.getMessage();
        }
    }

    /** The first {@code /proc/cpuinfo} line of that name, or {@code unknown} where there is none (not Linux). */
    private static String cpuInfo(String name) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8);
            for (String l : lines) {
                int colon = l.indexOf(':');
                if (colon > 0 && l.substring(0, colon).strip().equals(name)) {
                    return l.substring(colon + 1).strip();
                }
            }
        } catch (IOException e) {
            // not Linux: say unknown below
        }
        return "unknown";
    }

    /** The output of a git command in {@code root}, or {@code ""} when git is missing or the directory no checkout. */
    private static String git(Path root, String... args) {
        String[] command = new String[args.length + 3];
        command[0] = "git";
        command[1] = "-C";
        command[2] = root.toString();
        System.arraycopy(args, 0, command, 3, args.length);
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(false)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "";
            }
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
