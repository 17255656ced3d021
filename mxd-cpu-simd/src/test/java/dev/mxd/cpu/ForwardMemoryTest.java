package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * A forward pass allocates nothing that grows with N·T: the gate matrix is never materialised. Measured as the
 * heap bytes allocated by all threads (the caller and the workers) during one forward, at two expert counts with
 * the same T; the outputs live off-heap, and the layer allocates no native memory in a call.
 */
class ForwardMemoryTest {
    private static final int TOKENS = 2048;

    @Test
    void forwardAllocationDoesNotGrowWithExperts() {
        int fewer = 500, more = 4500;
        long small = allocatedByForward(fewer);
        long large = allocatedByForward(more);
        long gateTable = (long) (more - fewer) * TOKENS * Float.BYTES;
        assertTrue(large - small < gateTable / 64, "N " + fewer + " -> " + more + " at T " + TOKENS
                + ": a forward allocated " + small + " -> " + large + " bytes; a [ΔN, T] float table is " + gateTable);
        assertTrue(large < gateTable / 8, "a forward at N " + more + " allocated " + large + " bytes");
    }

    private static long allocatedByForward(int experts) {
        MxdConfig cfg = MxdConfig.mxd(16, 32, experts, 16, 8, Activation.RELU, false, false);
        try (MxdModel model = MxdModel.random(cfg, 11);
             MxdLayer layer = new CpuBackend().load(model);
             Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate((long) TOKENS * cfg.inputDim() * Float.BYTES);
            for (long i = 0; i < (long) TOKENS * cfg.inputDim(); i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(i));
            }
            MemorySegment y = arena.allocate((long) TOKENS * cfg.outputDim() * Float.BYTES);
            Codes codes = Codes.allocate(arena, TOKENS, cfg.k());
            layer.forward(x, TOKENS, y, codes);
            layer.forward(x, TOKENS, y, codes);
            long before = allocatedByAllThreads();
            layer.forward(x, TOKENS, y, codes);
            return allocatedByAllThreads() - before;
        }
    }

    private static long allocatedByAllThreads() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
            sum += Math.max(bytes, 0);
        }
        return sum;
    }
}
