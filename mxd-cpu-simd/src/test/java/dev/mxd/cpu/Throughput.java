package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Backends;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Optional;

/**
 * A quick measurement without JMH (the {@code jmh} module has the real benchmarks): {@link Sgemm} against OpenBLAS
 * {@code cblas_sgemm} called through FFM, alternating in one process, then the MxD forward at the paper's GPT-2
 * shape (I = O = 768, H = 3072, N = 21490, K = 32, relu, T = 2048) with the heap bytes one forward allocates.
 * <pre>
 * OPENBLAS_CORETYPE=SkylakeX OPENBLAS_THREAD_TIMEOUT=4 OPENBLAS_NUM_THREADS=2 \
 *   tools/run-test-main mxd-cpu-simd dev.mxd.cpu.Throughput [rounds]
 * </pre>
 * The machine may be shared: compare the ratios within one run, and the best and median of several rounds. On the
 * 2-core Zen 5 machine OpenBLAS 0.3.21 picks its AVX2 "Haswell" kernels inside a JVM (about 190 GFLOPS);
 * {@code OPENBLAS_CORETYPE=SkylakeX} gives it its AVX-512 kernels (330-380 GFLOPS), the fair baseline. And its
 * worker threads spin for a long while after each call, taking a core from whatever runs next in the process:
 * alternating with it, mxd's 1024³ median fell to half; {@code OPENBLAS_THREAD_TIMEOUT=4} keeps the spin short.
 */
public final class Throughput {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    public static void main(String[] args) throws Throwable {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        System.out.println("cpu backend: " + Backends.select("cpu").availability().detail());
        Optional<MethodHandle> blas = openBlas();
        for (int n : new int[] {1024, 2048}) {
            sgemm(n, rounds, blas.orElse(null));
        }
        forward(rounds);
    }

    private static void sgemm(int n, int rounds, MethodHandle blas) throws Throwable {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = filled(arena, (long) n * n, 1), b = filled(arena, (long) n * n, 2);
            MemorySegment c = arena.allocate((long) n * n * Float.BYTES, 64);
            int reps = Math.max(1, (int) (8e9 / (2.0 * n * n * n)));
            double[] ours = new double[rounds], theirs = new double[rounds];
            // warm-up: C2 must have compiled the kernels and the pool's threads must be running before timing
            for (long end = System.nanoTime() + 3_000_000_000L; System.nanoTime() < end; ) {
                Sgemm.multiply(n, n, n, a, b, c);
            }
            for (int r = -3; r < rounds; r++) {
                long t0 = System.nanoTime();
                for (int q = 0; q < reps; q++) {
                    Sgemm.multiply(n, n, n, a, b, c);
                }
                long t1 = System.nanoTime();
                for (int q = 0; blas != null && q < reps; q++) {
                    blas.invoke(101, 111, 111, n, n, n, 1f, a, n, b, n, 0f, c, n);
                }
                long t2 = System.nanoTime();
                if (r >= 0) {
                    ours[r] = reps * 2.0 * n * n * n / (t1 - t0);
                    theirs[r] = reps * 2.0 * n * n * n / (t2 - t1);
                }
            }
            String line = String.format("sgemm %d^3: mxd %s GFLOPS", n, stats(ours));
            if (blas != null) {
                line += String.format(" | openblas %s GFLOPS | ratio of medians %.2f", stats(theirs),
                        median(ours) / median(theirs));
            } else {
                line += " | openblas: libopenblas.so.0 not found, no baseline";
            }
            System.out.println(line);
        }
    }

    private static void forward(int rounds) {
        int tokens = 2048;
        MxdConfig cfg = MxdConfig.mxd(768, 3072, 21490, 768, 32, Activation.RELU, false, false);
        try (MxdModel model = MxdModel.random(cfg, 1);
             MxdLayer layer = Backends.select("cpu").load(model);
             Arena arena = Arena.ofShared()) {
            MemorySegment x = filled(arena, (long) tokens * cfg.inputDim(), 3);
            MemorySegment y = arena.allocate((long) tokens * cfg.outputDim() * Float.BYTES, 64);
            Codes codes = Codes.allocate(arena, tokens, cfg.k());
            double[] rate = new double[rounds];
            long bytes = Long.MAX_VALUE;
            for (int r = -3; r < rounds; r++) {
                long a0 = allocated();
                long t0 = System.nanoTime();
                layer.forward(x, tokens, y, codes);
                long t1 = System.nanoTime();
                if (r >= 0) {
                    rate[r] = tokens / ((t1 - t0) / 1e9);
                    bytes = Math.min(bytes, allocated() - a0);
                }
            }
            System.out.printf("mxd forward I=O=768 H=3072 N=21490 K=32 T=%d: %s tokens/s; heap allocated per forward"
                    + " %.1f MB (one [N, T] float table: %.1f MB)%n", tokens, stats(rate), bytes / 1e6,
                    (double) cfg.experts() * tokens * Float.BYTES / 1e6);
        }
    }

    private static Optional<MethodHandle> openBlas() {
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup("libopenblas.so.0", Arena.global());
            return lib.find("cblas_sgemm").map(f -> Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.ofVoid(
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, F, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, F, ValueLayout.ADDRESS, ValueLayout.JAVA_INT)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static MemorySegment filled(Arena arena, long n, int seed) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(F, i, (float) Math.sin(seed * 1e-3 + i * 0.37));
        }
        return s;
    }

    private static long allocated() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        return Arrays.stream(threads.getThreadAllocatedBytes(threads.getAllThreadIds())).filter(v -> v > 0).sum();
    }

    private static String stats(double[] v) {
        return String.format("best %.0f median %.0f", Arrays.stream(v).max().orElse(0), median(v));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
