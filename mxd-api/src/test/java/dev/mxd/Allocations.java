package dev.mxd;

import java.lang.management.ManagementFactory;

/** Heap allocation counts for the tests that bound what a call allocates (HotSpot's per-thread counters). */
public final class Allocations {
    private Allocations() {
    }

    /**
     * Bytes allocated so far by every live thread, summed: a call's allocation is the difference across it, worker
     * threads included. A thread the JVM cannot measure counts as zero.
     */
    public static long allocatedByAllThreads() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
            sum += Math.max(bytes, 0);
        }
        return sum;
    }
}
