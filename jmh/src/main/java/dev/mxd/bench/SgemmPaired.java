package dev.mxd.bench;

import dev.mxd.cpu.CpuBackend;
import dev.mxd.cpu.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * The SGEMM ratio on a shared machine: mxd's {@link Sgemm} and OpenBLAS called alternately (in ABBA
 * order) on the same matrices, so both see the same interference from other processes, and the ratio is
 * taken pair by pair. JMH's {@link SgemmBenchmark} measures one implementation for ten seconds, then the
 * other; when other processes come and go in between, its ratio is noise. This one's is not. OpenBLAS's
 * workers are told not to spin after a call ({@link OpenBlas#THREAD_TIMEOUT_PROPERTY} = 4 unless given),
 * since spinning workers would take the cores from the mxd call that follows.
 *
 * <pre>java ${mxd.jvmFlags} -cp jmh/target/benchmarks.jar dev.mxd.bench.SgemmPaired [n ...] [-pairs P]</pre>
 * (or {@code jmh/run paired}). Default sizes 1024 and 2048; default pairs: about ten seconds' worth.
 *
 * Prints, per size n, the median and best GFLOPS of each and the median of the per-pair ratios
 * mxd/OpenBLAS. Each result is checked against float64 first.
 */
public final class SgemmPaired {
    private SgemmPaired() {
    }

    public static void main(String[] args) {
        int pairs = 0; // 0: as many as fit in about ten seconds, at least 20
        int[] sizes = new int[args.length];
        int count = 0;
        try {
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("-pairs") && i + 1 < args.length) {
                    pairs = positive(args[++i]);
                } else {
                    sizes[count++] = positive(args[i]);
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("SgemmPaired: " + e.getMessage() + "; usage: SgemmPaired [n ...] [-pairs P]"
                    + " (integers >= 1; default sizes 1024 2048, default pairs: about ten seconds' worth, at least 20)");
            System.exit(2);
        }
        sizes = count == 0 ? new int[] {1024, 2048} : Arrays.copyOf(sizes, count);
        // OpenBLAS's workers would otherwise spin for a tenth of a second after each of its calls, on the cores
        // the next mxd call needs, and every mxd time would include that.
        if (System.getProperty(OpenBlas.THREAD_TIMEOUT_PROPERTY) == null) {
            System.setProperty(OpenBlas.THREAD_TIMEOUT_PROPERTY, "4");
        }
        OpenBlas blas = OpenBlas.get();
        System.out.println("OpenBLAS: " + blas.describe());
        System.out.println("mxd: " + new CpuBackend().availability().detail());
        for (int n : sizes) {
            run(blas, n, pairs);
        }
    }

    private static void run(OpenBlas blas, int n, int pairs) {
        long floats = (long) n * n;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(floats * Float.BYTES, 64);
            MemorySegment b = arena.allocate(floats * Float.BYTES, 64);
            MemorySegment c = arena.allocate(floats * Float.BYTES, 64);
            GemmCheck.fillUniform(a, floats, 1);
            GemmCheck.fillUniform(b, floats, 2);
            Runnable ours = () -> Sgemm.multiply(n, n, n, a, b, c);
            Runnable theirs = () -> blas.sgemm(n, n, n, a, b, c);
            ours.run();
            GemmCheck.check("mxd Sgemm.multiply", n, n, n, a, b, c);
            theirs.run();
            GemmCheck.check("OpenBLAS cblas_sgemm", n, n, n, a, b, c);
            // Warm-up: long enough for the kernels to reach C2 (a few seconds of calls).
            long start = System.nanoTime();
            long until = start + 4_000_000_000L;
            int warm = 0;
            while (System.nanoTime() < until) {
                ours.run();
                theirs.run();
                warm++;
            }
            if (pairs == 0) {
                double pairSeconds = (System.nanoTime() - start) / 1e9 / warm;
                pairs = (int) Math.min(5000, Math.max(20, Math.round(10 / pairSeconds)));
            }
            double flop = 2.0 * n * n * n;
            double[] mxd = new double[pairs];
            double[] openblas = new double[pairs];
            double[] ratio = new double[pairs];
            for (int p = 0; p < pairs; p++) {
                boolean oursFirst = p % 2 == 0;
                double first = seconds(oursFirst ? ours : theirs);
                double second = seconds(oursFirst ? theirs : ours);
                mxd[p] = flop / (oursFirst ? first : second) / 1e9;
                openblas[p] = flop / (oursFirst ? second : first) / 1e9;
                ratio[p] = mxd[p] / openblas[p];
            }
            System.out.printf(Locale.ROOT, "n=%d, %d pairs: mxd median %.0f GFLOPS (best %.0f), OpenBLAS median %.0f"
                            + " GFLOPS (best %.0f), ratio mxd/OpenBLAS: median %.3f (quartiles %.3f-%.3f)%n",
                    n, pairs, median(mxd), max(mxd), median(openblas), max(openblas), median(ratio),
                    quantile(ratio, 0.25), quantile(ratio, 0.75));
        }
    }

    private static int positive(String arg) {
        int v;
        try {
            v = Integer.parseInt(arg);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + arg + "' is not an integer");
        }
        if (v < 1) {
            throw new IllegalArgumentException(arg + " is not >= 1");
        }
        return v;
    }

    private static double seconds(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double median(double[] v) {
        return quantile(v, 0.5);
    }

    private static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }
}
