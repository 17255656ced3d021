package dev.mxd.bench;

import dev.mxd.MxdLayer;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The fused gate and TopK of an MxD alone: {@link MxdLayer#encode(MemorySegment, int, dev.mxd.Codes)} writes the K
 * codes [T, K] of each token and no output, in tokens per second. Same layer, shapes and oracle check as
 * {@link ForwardBenchmark} (its {@link ForwardBenchmark.Layer} state), so the two read side by side: forward minus
 * encode is the decoder's share. {@code scalar} runs the same with {@code -Dmxd.simd.bits=0} in its own fork, the
 * same-run calibration of {@code simd}. Read the {@code :tokens} rows.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
public class GateTopKBenchmark {

    /** The backend at the vector width it picks (or {@code -Dmxd.simd.bits} as given to this JVM). */
    @Benchmark
    @Fork(1)
    public void simd(ForwardBenchmark.Layer l, Tokens counter) {
        l.layer.encode(l.x, l.tokens, l.codes);
        counter.tokens += l.tokens;
    }

    /** The same with SIMD off, in a fork of its own. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = "-Dmxd.simd.bits=0")
    public void scalar(ForwardBenchmark.Layer l, Tokens counter) {
        l.layer.encode(l.x, l.tokens, l.codes);
        counter.tokens += l.tokens;
    }
}
