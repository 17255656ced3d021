package dev.mxd.bench;

import dev.mxd.cpu.CpuBackend;
import dev.mxd.cpu.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Square SGEMM, {@code C[n, n] = A[n, n] · B[n, n]} row-major float32 in native memory, at n = 1024 and
 * 2048: OpenBLAS's {@code cblas_sgemm} through FFM ({@link OpenBlas}), the baseline, in the same run as
 * mxd's kernel.
 *
 * <p>Read the {@code :gflops} rows: that secondary score is GFLOPS (2n³ flops per call, counted in units of
 * 10⁹, per second). The primary score is calls per second. Each implementation's result is checked against
 * float64 before it is timed. Where no OpenBLAS is found, its benchmark fails at setup with a message
 * saying where it looked; JMH goes on with the others.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SgemmBenchmark {

    /** The three matrices, filled once per trial. */
    @State(Scope.Benchmark)
    public static class Matrices {
        @Param({"1024", "2048"})
        public int size;

        Arena arena;
        MemorySegment a;
        MemorySegment b;
        MemorySegment c;

        @Setup(Level.Trial)
        public void allocate() {
            long floats = (long) size * size;
            arena = Arena.ofShared();
            a = arena.allocate(floats * Float.BYTES, 64);
            b = arena.allocate(floats * Float.BYTES, 64);
            c = arena.allocate(floats * Float.BYTES, 64);
            GemmCheck.fillUniform(a, floats, 1);
            GemmCheck.fillUniform(b, floats, 2);
        }

        @TearDown(Level.Trial)
        public void free() {
            arena.close();
        }
    }

    /** The loaded OpenBLAS, after one checked call. */
    @State(Scope.Benchmark)
    public static class OpenBlasGemm {
        OpenBlas blas;

        @Setup(Level.Trial)
        public void load(Matrices m) {
            blas = OpenBlas.get();
            System.out.println("OpenBLAS: " + blas.describe());
            blas.sgemm(m.size, m.size, m.size, m.a, m.b, m.c);
            GemmCheck.check("OpenBLAS cblas_sgemm", m.size, m.size, m.size, m.a, m.b, m.c);
        }
    }

    /** mxd's kernel ({@link Sgemm}), after one checked call. */
    @State(Scope.Benchmark)
    public static class MxdGemm {
        @Setup(Level.Trial)
        public void check(Matrices m) {
            System.out.println("mxd: " + new CpuBackend().availability().detail());
            Sgemm.multiply(m.size, m.size, m.size, m.a, m.b, m.c);
            GemmCheck.check("mxd Sgemm.multiply", m.size, m.size, m.size, m.a, m.b, m.c);
        }
    }

    /** Counts floating-point work in GFLOP; JMH reports it per second, i.e. as GFLOPS. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflops;

        @Setup(Level.Iteration)
        public void reset() {
            gflops = 0;
        }

        void add(int n) {
            gflops += 2.0 * n * n * (double) n / 1e9;
        }
    }

    @Benchmark
    public void mxd(Matrices m, MxdGemm checked, Flops f) {
        Sgemm.multiply(m.size, m.size, m.size, m.a, m.b, m.c);
        f.add(m.size);
    }

    @Benchmark
    public void openblas(Matrices m, OpenBlasGemm g, Flops f) {
        g.blas.sgemm(m.size, m.size, m.size, m.a, m.b, m.c);
        f.add(m.size);
    }
}
