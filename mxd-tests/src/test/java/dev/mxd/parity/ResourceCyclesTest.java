package dev.mxd.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.management.ObjectName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Load → forward → close cycles with the JVM's native memory measured by Native Memory Tracking (the Maven build
 * runs this class alone in a JVM started with {@code -XX:NativeMemoryTracking=summary}). Each cycle maps the
 * saved model ({@link ModelFiles#load}), loads it onto the backend, runs a forward and closes both; after a
 * warm-up, NMT's "Other" category (where the foreign-memory arenas of models, layers and workspaces are
 * counted) and the count of file mappings must not grow, and the closed layer and model must refuse calls.
 * The suite runs a few hundred cycles; {@code ./mxd stress} sets {@code mxd.stress.cycles} (10,000 on cpu, a
 * twentieth of that on the others, whose loads build programs).
 */
class ResourceCyclesTest {
    private static final int CYCLES = Integer.getInteger("mxd.stress.cycles", 200);
    private static final MxdConfig CFG = MxdConfig.mxd(24, 16, 40, 20, 4, Activation.GELU, true, true);
    /** Growth of "Other" allowed over the measured cycles: allocator and JIT noise, far below one leak a cycle. */
    private static final long SLACK_KB = 256;

    @TempDir
    static Path dir;

    static Stream<Backend> backends() {
        return BackendsUnderTest.all().stream();
    }

    @ParameterizedTest(name = "[{0}]", allowZeroInvocations = true)
    @MethodSource("backends")
    void cyclesLeaveNativeMemoryWhereItWas(Backend backend) throws Exception {
        Path saved = dir.resolve(backend.name());
        try (MxdModel m = MxdModel.random(CFG, 4)) {
            ModelFiles.save(m, saved);
        }
        int cycles = backend.name().equals("cpu") ? CYCLES : Math.max(20, CYCLES / 20);
        int warmUp = Math.max(10, cycles / 10);
        float[] x = Fixture.gaussian(13 * CFG.inputDim(), 8);
        float[] first = null;
        long otherBefore = 0, mappedBefore = 0;
        long[] committedBefore = new long[1];
        for (int c = 0; c < cycles; c++) {
            if (c == warmUp) {
                System.gc();
                otherBefore = nmtKb("Other", committedBefore);
                mappedBefore = mappedFiles();
                try (java.lang.foreign.Arena probe = java.lang.foreign.Arena.ofShared()) {
                    probe.allocate(1L << 20);   // the measure sees arena memory, or the test could not fail
                    long[] ignored = new long[1];
                    assertTrue(nmtKb("Other", ignored) >= otherBefore + 1000, "NMT Other does not count arenas");
                }
            }
            MxdLayer kept;
            MxdModel keptModel;
            try (MxdModel model = ModelFiles.load(saved); MxdLayer layer = backend.load(model)) {
                float[] y = layer.forward(x).y();
                if (first == null) {
                    first = y;
                } else {
                    assertArrayEquals(first, y, "cycle " + c);
                }
                kept = layer;
                keptModel = model;
            }
            if (c == 0) {
                assertThrows(IllegalStateException.class, () -> kept.forward(x), "a closed layer");
                assertThrows(IllegalStateException.class, () -> backend.load(keptModel), "a closed model");
            }
        }
        System.gc();
        long[] committedAfter = new long[1];
        long otherAfter = nmtKb("Other", committedAfter);
        long mappedAfter = mappedFiles();
        System.out.printf("%s: %,d load/forward/close cycles; NMT Other %,d KB -> %,d KB, total committed %,d KB ->"
                        + " %,d KB; file mappings %d -> %d%n", backend.name(), cycles, otherBefore, otherAfter,
                committedBefore[0], committedAfter[0], mappedBefore, mappedAfter);
        assertTrue(otherAfter - otherBefore <= SLACK_KB, "native memory (NMT Other) grew by "
                + (otherAfter - otherBefore) + " KB over " + (cycles - warmUp) + " cycles");
        assertTrue(mappedAfter <= mappedBefore, "file mappings grew from " + mappedBefore + " to " + mappedAfter);
    }

    private static long mappedFiles() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("mapped")).mapToLong(BufferPoolMXBean::getCount).sum();
    }

    /** Committed KB of one NMT category; {@code total[0]} gets the total committed KB. */
    static long nmtKb(String category, long[] total) throws Exception {
        String report = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                new Object[] {new String[] {"summary", "scale=KB"}}, new String[] {String[].class.getName()});
        Matcher t = Pattern.compile("Total: reserved=\\d+KB, committed=(\\d+)KB").matcher(report);
        Matcher m = Pattern.compile("-\\s+" + category + " \\(reserved=\\d+KB, committed=(\\d+)KB").matcher(report);
        if (!t.find() || !m.find()) {
            throw new IOException("no NMT summary (run with -XX:NativeMemoryTracking=summary): " + report);
        }
        total[0] = Long.parseLong(t.group(1));
        return Long.parseLong(m.group(1));
    }
}
