package dev.mxd.bench;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleMxd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
 * The fused MxD forward pass through the public API ({@link Backends#select(String)},
 * {@link MxdModel#random}, {@link MxdLayer#forward(MemorySegment, int, MemorySegment, Codes)} on native
 * segments allocated once), in tokens per second, at two shapes:
 * <ul>
 *   <li>{@code gpt2}: the paper's GPT-2 layer, I = O = 768, H = 3072, N = 21490, K = 32, relu, T = 2048;</li>
 *   <li>{@code small}: I = O = 128, H = 512, N = 2048, K = 16, relu, T = 512.</li>
 * </ul>
 * The backend is {@code -Dmxd.backend} (default {@code cpu}). {@code simd} runs the backend as it
 * chooses; {@code scalar} runs it in its own fork with {@code -Dmxd.simd.bits=0} (the property is read
 * once at class initialisation), in the same run. Read the {@code :tokens} rows: that secondary score is
 * tokens per second. Before timing, the first tokens of one forward are checked against the float64
 * oracle, so a wrong kernel is never timed.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
public class ForwardBenchmark {

    /** A benchmark shape: I = O, H, N, K, T. */
    enum Shape {
        GPT2(768, 3072, 21490, 32, 2048),
        SMALL(128, 512, 2048, 16, 512);

        final int width;
        final int hidden;
        final int experts;
        final int k;
        final int tokens;

        Shape(int width, int hidden, int experts, int k, int tokens) {
            this.width = width;
            this.hidden = hidden;
            this.experts = experts;
            this.k = k;
            this.tokens = tokens;
        }

        MxdConfig config() {
            return MxdConfig.mxd(width, hidden, experts, width, k, Activation.RELU, false, false);
        }

        static Shape named(String name) {
            for (Shape s : values()) {
                if (s.name().equalsIgnoreCase(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown shape '" + name + "'; shapes: gpt2, small");
        }
    }

    /** The loaded layer and its preallocated input and outputs. */
    @State(Scope.Benchmark)
    public static class Layer {
        @Param({"gpt2", "small"})
        public String shape;

        int tokens;
        MxdModel model;
        MxdLayer layer;
        Arena arena;
        MemorySegment x;
        MemorySegment y;
        Codes codes;

        @Setup(Level.Trial)
        public void load() {
            Shape s = Shape.named(shape);
            MxdConfig config = s.config();
            tokens = s.tokens;
            Backend backend = BenchSetup.backend();
            model = MxdModel.random(config, 42);
            arena = Arena.ofShared();
            try {
                layer = backend.load(model);
                x = arena.allocate((long) tokens * config.inputDim() * Float.BYTES, 64);
                y = arena.allocate((long) tokens * config.outputDim() * Float.BYTES, 64);
                codes = Codes.allocate(arena, tokens, config.k());
                SplittableRandom rnd = new SplittableRandom(7);
                for (long i = 0; i < (long) tokens * config.inputDim(); i++) {
                    x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
                }
                layer.forward(x, tokens, y, codes);
                checkAgainstOracle(config);
            } catch (RuntimeException e) {
                free();
                throw e;
            }
        }

        @TearDown(Level.Trial)
        public void free() {
            // Layer before model (the layer may read the model's tensors); each at most once.
            layer = BenchSetup.closed(layer);
            model = BenchSetup.closed(model);
            arena = BenchSetup.closed(arena);
        }

        /**
         * DESIGN §6 tolerance on the first tokens whose top K the backend and the oracle agree on (a near-tie
         * at the K-th gate may legitimately swap an expert, and then y differs by more than rounding).
         */
        private void checkAgainstOracle(MxdConfig config) {
            int checkTokens = Math.min(4, tokens);
            int in = config.inputDim();
            int out = config.outputDim();
            float[] xs = new float[checkTokens * in];
            MemorySegment.copy(x, ValueLayout.JAVA_FLOAT, 0, xs, 0, xs.length);
            OracleMxd.Result want = new OracleMxd(model).forward(xs, checkTokens);
            double maxAbs = Arrays.stream(want.y()).map(Math::abs).max().orElse(0);
            int compared = 0;
            for (int t = 0; t < checkTokens; t++) {
                Set<Integer> ours = new HashSet<>();
                Set<Integer> oracle = new HashSet<>();
                for (int j = 0; j < config.k(); j++) {
                    ours.add(codes.index(t, j));
                    oracle.add(want.codes().index()[t * config.k() + j]);
                }
                if (!ours.equals(oracle)) {
                    continue;
                }
                compared++;
                for (int o = 0; o < out; o++) {
                    double exact = want.y()[t * out + o];
                    float got = y.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * out + o);
                    if (!(Math.abs(got - exact) <= 1e-5 * maxAbs + 1e-4 * Math.abs(exact))) {
                        throw new IllegalStateException("backend " + layer.backendName() + " gives y[" + t + ", " + o
                                + "] = " + got + ", the float64 oracle " + exact + ": wrong results are not timed");
                    }
                }
            }
            if (compared == 0) {
                throw new IllegalStateException("backend " + layer.backendName() + " chose other experts than the"
                        + " float64 oracle for all of the first " + checkTokens + " tokens: wrong results are not timed");
            }
        }
    }

    /** The backend at the vector width it picks (or {@code -Dmxd.simd.bits} as given to this JVM). */
    @Benchmark
    @Fork(1)
    public void simd(Layer l, Tokens counter) {
        l.layer.forward(l.x, l.tokens, l.y, l.codes);
        counter.tokens += l.tokens;
    }

    /** The same with SIMD off, in a fork of its own. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = "-Dmxd.simd.bits=0")
    @Warmup(iterations = 1, time = 2)
    @Measurement(iterations = 2, time = 2)
    public void scalar(Layer l, Tokens counter) {
        l.layer.forward(l.x, l.tokens, l.y, l.codes);
        counter.tokens += l.tokens;
    }
}
