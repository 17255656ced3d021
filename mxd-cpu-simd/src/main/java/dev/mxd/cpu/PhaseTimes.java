package dev.mxd.cpu;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Wall time per phase of a training step, for the step-timing harness ({@code TrainingStepTiming}): off unless a
 * harness turns it on, and then read and written by the thread that drives the step only (the phases are whole
 * pool calls). Costs one field read per phase when off.
 */
final class PhaseTimes {
    static volatile boolean enabled;
    private static final Map<String, Long> NANOS = new LinkedHashMap<>();

    private PhaseTimes() {
    }

    /** A start time for {@link #end}, or 0 when off. */
    static long start() {
        return enabled ? System.nanoTime() : 0;
    }

    /** Adds the time since {@code start} to {@code phase}; returns a start time for the next phase. */
    static long end(String phase, long start) {
        if (!enabled) {
            return 0;
        }
        long now = System.nanoTime();
        NANOS.merge(phase, now - start, Long::sum);
        return now;
    }

    static void reset() {
        NANOS.clear();
    }

    /** Each phase in seconds and as a share of {@code totalNanos}, in the order first seen. */
    static String describe(long totalNanos) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, Long> e : NANOS.entrySet()) {
            b.append(String.format("%s %.3f s (%.0f %%); ", e.getKey(), e.getValue() / 1e9,
                    100.0 * e.getValue() / totalNanos));
        }
        return b.toString();
    }
}
