package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {
    private final WorkerPool pool = WorkerPool.shared();

    @Test
    void everyBlockRunsOnceWithOneScratchPerParticipant() {
        int blocks = 1000;
        AtomicIntegerArray runs = new AtomicIntegerArray(blocks);
        AtomicInteger scratches = new AtomicInteger();
        pool.forEachBlock(blocks, () -> new int[] {scratches.incrementAndGet()}, (s, b) -> runs.incrementAndGet(b));
        for (int b = 0; b < blocks; b++) {
            assertEquals(1, runs.get(b), "block " + b);
        }
        assertTrue(scratches.get() >= 1 && scratches.get() <= pool.parallelism(), scratches + " scratches");
    }

    @Test
    void theFirstFailureReachesTheCallerAfterEveryoneStopped() {
        RuntimeException boom = new IllegalStateException("block 7");
        AtomicInteger running = new AtomicInteger();
        var e = assertThrows(IllegalStateException.class, () -> pool.forEachBlock(50, Object::new, (s, b) -> {
            running.incrementAndGet();
            try {
                if (b == 7) {
                    throw boom;
                }
            } finally {
                running.decrementAndGet();
            }
        }));
        assertSame(boom, e);
        assertEquals(0, running.get(), "no block still running when the call returns");
    }

    @Test
    void zeroBlocksIsNothing() {
        pool.forEachBlock(0, () -> {
            throw new AssertionError("no scratch for no blocks");
        }, (s, b) -> {
            throw new AssertionError();
        });
    }
}
