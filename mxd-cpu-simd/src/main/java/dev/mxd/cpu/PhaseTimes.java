package dev.mxd.cpu;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Wall time per phase of a training step, for the step-timing harness ({@code TrainingStepTiming}): off unless a
 * harness turns it on, and then read and written by the thread that drives the step only (the phases are whole
 * pool calls). Costs one field read per phase when off.
 */
final class PhaseTimes {
    static volatile boolean enabled;
    private static final Map<String, Long> NANOS = new LinkedHashMap<>();
    /** Thread time spent in {@link Gemm#accumulate} by all participants since {@link #endSplit} last read it. */
    private static final LongAdder GEMM_NANOS = new LongAdder();

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

    /** A start time for {@link #gemmEnd}, or 0 when off; called by any participant. */
    static long gemmStart() {
        return enabled ? System.nanoTime() : 0;
    }

    /** Adds a participant's time in a GEMM since {@code start} to the count {@link #endSplit} reads. */
    static void gemmEnd(long start) {
        if (enabled) {
            GEMM_NANOS.add(System.nanoTime() - start);
        }
    }

    /**
     * Ends a phase of fused GEMMs and epilogues (the forward pass) run by {@code participants} threads, split into
     * {@code gemmPhase}, the participants' time in the GEMMs divided by their number, and {@code restPhase}, the
     * rest of the phase's wall time: the epilogues, packing, copies and any imbalance between the participants.
     */
    static long endSplit(String gemmPhase, String restPhase, long start, int participants) {
        if (!enabled) {
            return 0;
        }
        long now = System.nanoTime();
        long gemm = Math.min(GEMM_NANOS.sumThenReset() / participants, now - start);
        NANOS.merge(gemmPhase, gemm, Long::sum);
        NANOS.merge(restPhase, now - start - gemm, Long::sum);
        return now;
    }

    /** Forgets the GEMM time counted so far, at the start of a phase that {@link #endSplit} ends. */
    static void clearGemm() {
        GEMM_NANOS.reset();
    }

    static void reset() {
        GEMM_NANOS.reset();
        NANOS.clear();
    }

    /** The nanoseconds of each phase since the last {@link #reset}, in the order first seen. */
    static Map<String, Long> snapshot() {
        return new LinkedHashMap<>(NANOS);
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
