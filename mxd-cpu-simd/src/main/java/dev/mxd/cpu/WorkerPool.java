package dev.mxd.cpu;

import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The worker threads every cpu layer and {@link Sgemm} share: {@code mxd.threads} (default: the available
 * processors) participants, the calling thread being one of them, so the pool holds one daemon thread fewer.
 *
 * <p>Work is a number of independent blocks claimed from a shared counter, so a participant that starts late
 * (the pool busy with another caller's blocks) simply finds less to do, and a call never waits on a queue: the
 * caller alone can finish every block. Each participant makes its own scratch with the given supplier, which
 * is how concurrent calls stay apart: nothing mutable is shared between participants or between calls.
 */
final class WorkerPool {
    static final String THREADS_PROPERTY = "mxd.threads";

    private static final int THREADS;
    private static final String PROBLEM;

    static {
        int threads = Runtime.getRuntime().availableProcessors();
        String problem = null;
        String raw = System.getProperty(THREADS_PROPERTY);
        if (raw != null && !raw.isBlank()) {
            try {
                threads = Integer.parseInt(raw.trim());
            } catch (NumberFormatException e) {
                threads = 0;
            }
            if (threads < 1) {
                problem = "-D" + THREADS_PROPERTY + "=" + raw + " is not a thread count >= 1";
            }
        }
        THREADS = Math.max(threads, 1);
        PROBLEM = problem;
    }

    private static final class Shared {
        static final WorkerPool POOL = new WorkerPool(THREADS);
    }

    /** One block of work, run by one participant with its own scratch. */
    @FunctionalInterface
    interface BlockTask<S> {
        void run(S scratch, int block);
    }

    private final int parallelism;
    private final ExecutorService executor;

    private WorkerPool(int parallelism) {
        this.parallelism = parallelism;
        AtomicInteger serial = new AtomicInteger();
        this.executor = parallelism == 1 ? null : Executors.newFixedThreadPool(parallelism - 1, r -> {
            Thread t = new Thread(r, "mxd-cpu-" + serial.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Why {@code mxd.threads} is unusable, or empty. */
    static Optional<String> problem() {
        return Optional.ofNullable(PROBLEM);
    }

    /**
     * A pool of its own with {@code parallelism} participants, for tests that compare thread counts within one JVM
     * (the shared pool's size is fixed per JVM); {@link #shutdown} ends its threads.
     */
    static WorkerPool withParallelism(int parallelism) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("a pool needs at least one participant, got " + parallelism);
        }
        return new WorkerPool(parallelism);
    }

    /** Ends the threads of a pool made by {@link #withParallelism}; never called on the shared pool. */
    void shutdown() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    /** The pool of this JVM, sized by {@code mxd.threads} when first used. */
    static WorkerPool shared() {
        return Shared.POOL;
    }

    /** Participants per call, the caller included. */
    int parallelism() {
        return parallelism;
    }

    /**
     * Runs {@code task} for every block in [0, blocks) on up to {@link #parallelism()} participants and returns
     * when all are done. The first exception thrown by any block is rethrown here (the others are attached as
     * suppressed) after every participant has stopped; blocks not yet started then never run.
     */
    <S> void forEachBlock(int blocks, Supplier<S> scratch, BlockTask<S> task) {
        forEachBlock(blocks, scratch, task, s -> {
        });
    }

    /** {@link #forEachBlock(int, Supplier, BlockTask)}, handing each participant's scratch to {@code release} at its end. */
    <S> void forEachBlock(int blocks, Supplier<S> scratch, BlockTask<S> task, Consumer<S> release) {
        if (blocks <= 0) {
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable participant = () -> {
            S s = null;
            try {
                for (int b; (b = next.getAndIncrement()) < blocks; ) {
                    if (s == null) {
                        s = scratch.get();
                    }
                    task.run(s, b);
                }
            } catch (RuntimeException | Error e) {
                next.set(blocks);
                throw e;
            } finally {
                if (s != null) {
                    release.accept(s);
                }
            }
        };
        Call call = new Call();
        for (int i = Math.min(parallelism, blocks) - 1; i > 0; i--) {
            executor.execute(() -> {
                if (call.enter()) {
                    try {
                        participant.run();
                    } catch (RuntimeException | Error e) {
                        call.fail(e);
                    } finally {
                        call.exit();
                    }
                }
            });
        }
        try {
            participant.run();
        } catch (RuntimeException | Error e) {
            call.fail(e);
        }
        call.closeAndAwait();
        call.rethrow();
    }

    /**
     * The helpers of one call. When the caller has run out of blocks it closes the call: a helper that had not
     * started yet (the pool busy elsewhere) then does nothing, and the caller waits only for helpers that did
     * start, since they write into the caller's outputs.
     */
    private static final class Call {
        private int active;
        private boolean closed;
        private Throwable failure;

        synchronized boolean enter() {
            if (closed) {
                return false;
            }
            active++;
            return true;
        }

        synchronized void exit() {
            if (--active == 0 && closed) {
                notifyAll();
            }
        }

        synchronized void fail(Throwable e) {
            if (failure == null) {
                failure = e;
            } else if (failure != e) {
                failure.addSuppressed(e);
            }
        }

        /** Waits without giving up on interrupts (the helpers still write the outputs), then restores the flag. */
        synchronized void closeAndAwait() {
            closed = true;
            boolean interrupted = false;
            while (active > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized void rethrow() {
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            if (failure instanceof Error err) {
                throw err;
            }
        }
    }
}
