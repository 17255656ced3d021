package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Allocations;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A forward pass allocates nothing that grows with N·T: the gate matrix is never materialised. Measured as the
 * heap bytes allocated by all threads (the caller and the workers) during one forward, at two expert counts with
 * the same T, with the kept scratch arrays forgotten first so that every buffer the call uses is allocated in it;
 * the outputs live off-heap, and the layer allocates no native memory in a call.
 */
class ForwardMemoryTest {
    private static final int TOKENS = 2048;

    @Test
    void forwardAllocationDoesNotGrowWithExperts() {
        int fewer = 500, more = 4500;
        // Up to 100 forwards each, the fewest bytes counted: a kernel this JVM has not compiled with C2 yet (the
        // gather's, when this test runs first) boxes its vectors, megabytes that have nothing to do with N.
        long small = allocatedByForward(MxdConfig.mxd(16, 32, fewer, 16, 8, Activation.RELU, false, false), TOKENS, 100, true);
        long large = allocatedByForward(MxdConfig.mxd(16, 32, more, 16, 8, Activation.RELU, false, false), TOKENS, 100, true);
        long gateTable = (long) (more - fewer) * TOKENS * Float.BYTES;
        assertTrue(large - small < gateTable / 64, "N " + fewer + " -> " + more + " at T " + TOKENS
                + ": a forward allocated " + small + " -> " + large + " bytes; a [ΔN, T] float table is " + gateTable);
        assertTrue(large < gateTable / 8, "a forward at N " + more + " allocated " + large + " bytes");
    }

    /**
     * Every activation, with GLU and skip, once compiled and with scratch arrays reused: a kernel whose vectors are
     * not kept in registers (an operator or a helper that C2 does not intrinsify or inline) boxes every vector on
     * the heap, tens of MB here, where a clean call allocates a few kB.
     * Steady state only: interpreted and C1 code box by nature, and C2 recompiles the activation loop when a new
     * activation reaches it, so this takes the fewest bytes of up to 300 forwards (most pass within a few dozen).
     */
    @ParameterizedTest
    @EnumSource(Activation.class)
    void everyEpilogueRunsWithoutBoxing(Activation act) {
        int tokens = 512;
        long bytes = allocatedByForward(MxdConfig.mxd(16, 40, 600, 16, 8, act, true, true), tokens, 300, false);
        assertTrue(bytes < 256 << 10, act + ": a forward at T " + tokens + " allocated " + bytes + " bytes");
    }

    /**
     * The fewest heap bytes one forward allocated, over up to {@code tries} forwards (stops below 256 kB);
     * {@code fresh}: with no kept scratch arrays.
     */
    private static long allocatedByForward(MxdConfig cfg, int tokens, int tries, boolean fresh) {
        try (MxdModel model = MxdModel.random(cfg, 11);
             MxdLayer layer = new CpuBackend().load(model);
             Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate((long) tokens * cfg.inputDim() * Float.BYTES);
            for (long i = 0; i < (long) tokens * cfg.inputDim(); i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(i));
            }
            MemorySegment y = arena.allocate((long) tokens * cfg.outputDim() * Float.BYTES);
            Codes codes = Codes.allocate(arena, tokens, cfg.k());
            long fewest = Long.MAX_VALUE;
            for (int i = 0; i < tries && fewest >= 256 << 10; i++) {
                if (fresh) {
                    FloatArrays.clear();
                }
                long before = Allocations.allocatedByAllThreads();
                layer.forward(x, tokens, y, codes);
                fewest = Math.min(fewest, Allocations.allocatedByAllThreads() - before);
            }
            return fewest;
        }
    }
}
