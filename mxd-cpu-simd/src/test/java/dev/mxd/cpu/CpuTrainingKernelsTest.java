package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import dev.mxd.train.DecoderNorm;
import dev.mxd.train.ParameterTensors;
import dev.mxd.oracle.OracleBackward;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cpu backend's training kernels against the float64 oracle ({@link OracleBackward} through
 * {@link OracleTrainingKernels}) on odd sizes, DESIGN §6 tolerances per tensor; the sparsity of the backward
 * pass; determinism.
 */
class CpuTrainingKernelsTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final double RTOL = 1e-4, ATOL = 1e-5;

    static Stream<Arguments> variants() {
        List<Arguments> v = new ArrayList<>();
        int i = 13, h = 37, o = 11, n = 29;
        for (Activation a : Activation.values()) {
            v.add(Arguments.of(MxdConfig.mxd(i, h, n, o, 3, a, false, false), 41));
            v.add(Arguments.of(MxdConfig.transcoder(i, h, o, 5, a, false), 41));
        }
        v.add(Arguments.of(MxdConfig.mxd(i, h, n, o, 4, Activation.GELU, true, true), 53));
        v.add(Arguments.of(MxdConfig.mxd(i, h, n, o, 1, Activation.RELU, true, false), 7));
        v.add(Arguments.of(MxdConfig.mxd(i, h, n, o, n, Activation.SILU, false, true), 1));
        v.add(Arguments.of(MxdConfig.mxd(40, 70, 300, 33, 8, Activation.GELU_TANH, false, true), 250));
        // H and O wider than one 256-column GEMM tile: every column tile lands in its own columns
        v.add(Arguments.of(MxdConfig.mxd(20, 300, 40, 270, 5, Activation.GELU, false, false), 30));
        v.add(Arguments.of(MxdConfig.transcoder(i, h, o, 1, Activation.GELU, true), 19));
        v.add(Arguments.of(MxdConfig.skipTranscoder(i, h, o, 6, Activation.SIGMOID, true), 23));
        v.add(Arguments.of(MxdConfig.skipTranscoder(i, h, o, h, Activation.RELU, false), 9));
        return v.stream();
    }

    /** x ~ N(0, 1) [T, I] and targets ~ N(0, 1) [T, O]. */
    static float[][] batch(MxdConfig cfg, int tokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[tokens * cfg.inputDim()];
        float[] t = new float[tokens * cfg.outputDim()];
        for (int j = 0; j < x.length; j++) {
            x[j] = (float) r.nextGaussian();
        }
        for (int j = 0; j < t.length; j++) {
            t[j] = (float) r.nextGaussian();
        }
        return new float[][] {x, t};
    }

    @ParameterizedTest
    @MethodSource("variants")
    void gradientsMatchTheOracle(MxdConfig cfg, int tokens) {
        float[][] b = batch(cfg, tokens, cfg.hashCode());
        try (MxdModel model = MxdModel.random(cfg, 3);
             ParameterTensors g64 = ParameterTensors.zeros(cfg);
             ParameterTensors g32 = ParameterTensors.zeros(cfg);
             OracleTrainingKernels oracle = new OracleTrainingKernels(model);
             CpuTrainingKernels cpu = CpuTrainingKernels.of(model)) {
            float[] yRef = new float[tokens * cfg.outputDim()];
            float[] yCpu = new float[tokens * cfg.outputDim()];
            Codes cRef = Codes.onHeap(tokens, cfg.k());
            Codes cCpu = Codes.onHeap(tokens, cfg.k());
            forwardBackward(oracle, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                    MemorySegment.ofArray(yRef), cRef, g64);
            forwardBackward(cpu, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                    MemorySegment.ofArray(yCpu), cCpu, g32);
            for (int r = 0; r < tokens; r++) {
                for (int j = 0; j < cfg.k(); j++) {
                    int row = r, slot = j;
                    assertEquals(cRef.index(r, j), cCpu.index(r, j), () -> "code index [" + row + ", " + slot + "] "
                            + cRef.value(row, slot) + " vs " + cCpu.value(row, slot) + " next " + cRef.index(row, slot + 1) + "/" + cRef.value(row, slot + 1));
                }
            }
            assertClose("y", yRef, yCpu);
            for (String name : g64.names()) {
                assertClose("d" + name, g64.tensor(name).data().toArray(Tensor.F32_LE),
                        g32.tensor(name).data().toArray(Tensor.F32_LE));
            }
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        double max = 0;
        for (float e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        assertTrue(max > 0 || what.equals("dW_dec") || what.startsWith("dW_skip"), what + " is all zero in the oracle");
        for (int i = 0; i < expected.length; i++) {
            double tol = ATOL * max + RTOL * Math.abs(expected[i]);
            int at = i;
            assertEquals(expected[i], actual[i], tol, () -> what + "[" + at + "]");
        }
    }

    /** Rows of unselected experts get exactly zero, and the sparse work counts (token, expert) pairs, not N. */
    @Test
    void expertGradientsAreSparse() {
        int tokens = 17, k = 2;
        long[] visited = new long[2];
        int[] experts = {50, 5000};
        for (int c = 0; c < 2; c++) {
            MxdConfig cfg = MxdConfig.mxd(9, 12, experts[c], 7, k, Activation.GELU, false, false);
            float[][] b = batch(cfg, tokens, 4);
            try (MxdModel model = MxdModel.random(cfg, 5);
                 ParameterTensors g = ParameterTensors.zeros(cfg);
                 CpuTrainingKernels cpu = CpuTrainingKernels.of(model)) {
                // Stale values everywhere: the kernels must overwrite, not accumulate.
                for (Tensor t : g.tensors().values()) {
                    t.data().fill((byte) 0x3f);
                }
                Codes codes = Codes.onHeap(tokens, k);
                forwardBackward(cpu, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                        MemorySegment.ofArray(new float[tokens * 7]), codes, g);
                Set<Integer> selected = new HashSet<>();
                int nonZero = 0;
                for (int r = 0; r < tokens; r++) {
                    for (int j = 0; j < k; j++) {
                        if (codes.value(r, j) != 0f) {
                            selected.add(codes.index(r, j));
                            nonZero++;
                        }
                    }
                }
                assertTrue(selected.size() > 1, "too few experts fired to test anything");
                MemorySegment gate = g.tensor("gate").data();
                MemorySegment bias = g.tensor("gate_bias").data();
                MemorySegment cond = g.tensor("W_cond").data();
                int touched = 0;
                for (int n = 0; n < experts[c]; n++) {
                    boolean any = bias.getAtIndex(Tensor.F32_LE, n) != 0f;
                    for (int i = 0; i < 9; i++) {
                        any |= gate.getAtIndex(Tensor.F32_LE, (long) n * 9 + i) != 0f;
                    }
                    for (int o = 0; o < 7; o++) {
                        any |= cond.getAtIndex(Tensor.F32_LE, (long) o * experts[c] + n) != 0f;
                    }
                    if (any) {
                        touched++;
                        assertTrue(selected.contains(n), "expert " + n + " got gradient but no token selected it");
                    }
                }
                assertEquals(selected.size(), touched, "every selected expert gets gradient");
                visited[c] = cpu.sparseRowsVisited();
                assertEquals(nonZero, visited[c], "the sparse pass visits exactly the non-zero (token, expert) pairs");
            }
        }
        assertTrue(visited[0] <= (long) tokens * k && visited[1] <= (long) tokens * k,
                "sparse work bounded by T·K whatever N: " + visited[0] + ", " + visited[1]);
    }

    static Stream<MxdConfig> determinismConfigs() {
        return Stream.of(MxdConfig.mxd(21, 30, 77, 19, 4, Activation.GELU, true, true),
                MxdConfig.transcoder(21, 30, 19, 4, Activation.GELU, true),
                MxdConfig.skipTranscoder(21, 30, 19, 3, Activation.RELU, false));
    }

    /**
     * The kernels keep their work arrays from call to call: a call after a larger and a smaller batch, into
     * gradient tensors full of NaN, gives bit for bit what the first call gave into zeroed ones.
     */
    @ParameterizedTest
    @MethodSource("determinismConfigs")
    void callsAreBitIdenticalAndOverwriteTheGradients(MxdConfig cfg) {
        int tokens = 211;
        int o = cfg.outputDim();
        float[][] b = batch(cfg, tokens, 8);
        float[][] big = batch(cfg, 300, 10);
        float[][] small = batch(cfg, 17, 11);
        try (MxdModel model = MxdModel.random(cfg, 9);
             ParameterTensors g1 = ParameterTensors.zeros(cfg);
             ParameterTensors g2 = ParameterTensors.zeros(cfg);
             CpuTrainingKernels cpu = CpuTrainingKernels.of(model)) {
            float[] y1 = new float[tokens * o];
            float[] y2 = new float[tokens * o];
            forwardBackward(cpu, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                    MemorySegment.ofArray(y1), Codes.onHeap(tokens, cfg.k()), g1);
            for (float[][] other : List.of(big, small)) {
                int n = other[0].length / cfg.inputDim();
                forwardBackward(cpu, MemorySegment.ofArray(other[0]), MemorySegment.ofArray(other[1]), n,
                        MemorySegment.ofArray(new float[n * o]), Codes.onHeap(n, cfg.k()), g2);
            }
            for (String name : g2.names()) {
                g2.tensor(name).data().fill((byte) 0xFF);   // NaN in every element
            }
            forwardBackward(cpu, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                    MemorySegment.ofArray(y2), Codes.onHeap(tokens, cfg.k()), g2);
            assertArrayEquals(y1, y2);
            for (String name : g1.names()) {
                assertArrayEquals(g1.tensor(name).data().toArray(Tensor.F32_LE),
                        g2.tensor(name).data().toArray(Tensor.F32_LE), name);
            }
            // forward alone gives the forward of forwardBackward
            float[] y3 = new float[tokens * o];
            cpu.forward(MemorySegment.ofArray(b[0]), tokens, MemorySegment.ofArray(y3), Codes.onHeap(tokens, cfg.k()));
            assertArrayEquals(y1, y3);
        }
    }

    /**
     * Decoder-norm, the decoder-gradient projection fused into the backward pass, and AdamW on the cpu backend
     * (in the kernels' layout, vector lanes over the participants) against the backend-neutral definitions
     * ({@link DecoderNorm}, {@link AdamW#update}) on the model's layout, bit for bit, over three steps.
     */
    @ParameterizedTest
    @MethodSource("parameterPassConfigs")
    void parameterPassesAreTheDefinitionsBitForBit(MxdConfig cfg) {
        int tokens = 97;
        float[][] b = batch(cfg, tokens, 21);
        AdamW adam = AdamW.reference();
        try (MxdModel ours = MxdModel.random(cfg, 5);
             MxdModel theirs = MxdModel.random(cfg, 5);
             ParameterTensors g1 = ParameterTensors.zeros(cfg);
             ParameterTensors g2 = ParameterTensors.zeros(cfg);
             ParameterTensors m1 = ParameterTensors.zeros(cfg);
             ParameterTensors v1 = ParameterTensors.zeros(cfg);
             ParameterTensors m2 = ParameterTensors.zeros(cfg);
             ParameterTensors v2 = ParameterTensors.zeros(cfg);
             CpuTrainingKernels cpu = CpuTrainingKernels.of(ours)) {
            for (int step = 1; step <= 3; step++) {
                cpu.normaliseDecoder();
                DecoderNorm.normalise(theirs);
                cpu.exportTo(ours, null, null);
                assertSameTensors(ours, theirs, "after decoder-norm, step " + step);
                Codes c = Codes.onHeap(tokens, cfg.k());
                float[] y = new float[tokens * cfg.outputDim()];
                try (CpuTrainingKernels plain = CpuTrainingKernels.of(theirs)) {
                    forwardBackward(plain, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                            MemorySegment.ofArray(y), c, g2, false);
                }
                if (step == 2) {
                    // without the projection, the same gradient as other kernels over the same parameters
                    forwardBackward(cpu, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                            MemorySegment.ofArray(y), c, g1, false);
                    for (String name : g1.names()) {
                        assertArrayEquals(g2.tensor(name).data().toArray(Tensor.F32_LE),
                                g1.tensor(name).data().toArray(Tensor.F32_LE), name + " unprojected gradient");
                    }
                }
                // the projection fused into the backward pass against the definition after it
                forwardBackward(cpu, MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), tokens,
                        MemorySegment.ofArray(y), c, g1, true);
                DecoderNorm.removeParallelGradient(theirs, g2);
                for (String name : g1.names()) {
                    assertArrayEquals(g2.tensor(name).data().toArray(Tensor.F32_LE),
                            g1.tensor(name).data().toArray(Tensor.F32_LE), name + " gradient, step " + step);
                }
                AdamW.Coefficients coefficients = adam.next(1e-2);
                cpu.update(coefficients);
                AdamW.update(theirs, g2, m2, v2, coefficients);
                cpu.exportTo(ours, m1, v1);
                assertSameTensors(ours, theirs, "after AdamW, step " + step);
                for (String name : g1.names()) {
                    assertArrayEquals(m2.tensor(name).data().toArray(Tensor.F32_LE),
                            m1.tensor(name).data().toArray(Tensor.F32_LE), name + " m, step " + step);
                    assertArrayEquals(v2.tensor(name).data().toArray(Tensor.F32_LE),
                            v1.tensor(name).data().toArray(Tensor.F32_LE), name + " v, step " + step);
                }
            }
        }
    }

    /** The step's forward and backward, then its gradient in the checkpoint layout into {@code grads}. */
    static void forwardBackward(TrainingKernels kernels, MemorySegment x, MemorySegment t, int tokens, MemorySegment y,
                                Codes codes, ParameterTensors grads, boolean project) {
        kernels.forwardBackward(x, t, tokens, y, codes, project);
        kernels.gradients(grads);
    }

    static void forwardBackward(TrainingKernels kernels, MemorySegment x, MemorySegment t, int tokens, MemorySegment y,
                                Codes codes, ParameterTensors grads) {
        forwardBackward(kernels, x, t, tokens, y, codes, grads, false);
    }

    static Stream<MxdConfig> parameterPassConfigs() {
        return Stream.of(MxdConfig.mxd(21, 30, 1100 + 37, 19, 4, Activation.GELU, true, true),
                MxdConfig.transcoder(21, 30, 19, 4, Activation.RELU, false));
    }

    private static void assertSameTensors(MxdModel expected, MxdModel actual, String when) {
        for (String name : expected.tensors().keySet()) {
            assertArrayEquals(expected.tensor(name).data().toArray(Tensor.F32_LE),
                    actual.tensor(name).data().toArray(Tensor.F32_LE), name + " " + when);
        }
    }

    /**
     * The training forward pass is the inference layer's: the same codes and outputs, including with many expert
     * tiles and more tokens than one row block.
     */
    @Test
    void forwardMatchesTheCpuLayer() {
        for (MxdConfig cfg : List.of(MxdConfig.mxd(21, 30, 77, 19, 4, Activation.GELU, true, true),
                MxdConfig.mxd(21, 30, 1137, 19, 7, Activation.RELU, false, false),
                MxdConfig.skipTranscoder(21, 30, 19, 5, Activation.RELU, true))) {
            int tokens = cfg.experts() > 1000 ? 301 : 61;
            float[] x = batch(cfg, tokens, 1)[0];
            try (MxdModel model = MxdModel.random(cfg, 2);
                 CpuTrainingKernels cpu = CpuTrainingKernels.of(model);
                 dev.mxd.MxdLayer layer = new CpuBackend().load(model)) {
                float[] y1 = new float[tokens * 19];
                float[] y2 = new float[tokens * 19];
                Codes c1 = Codes.onHeap(tokens, cfg.k());
                Codes c2 = Codes.onHeap(tokens, cfg.k());
                cpu.forward(MemorySegment.ofArray(x), tokens, MemorySegment.ofArray(y1), c1);
                layer.forward(MemorySegment.ofArray(x), tokens, MemorySegment.ofArray(y2), c2);
                assertArrayEquals(c2.indexSegment().toArray(ValueLayout.JAVA_INT), c1.indexSegment().toArray(ValueLayout.JAVA_INT));
                assertClose(cfg.kind() + " y", y2, y1);
            }
        }
    }

    @Test
    void zeroTargetRowIsRejectedByRow() {
        MxdConfig cfg = MxdConfig.transcoder(5, 8, 4, 2, Activation.RELU, false);
        float[][] b = batch(cfg, 6, 1);
        for (int o = 0; o < 4; o++) {
            b[1][3 * 4 + o] = 0f;
        }
        try (MxdModel model = MxdModel.random(cfg, 2);
             ParameterTensors g = ParameterTensors.zeros(cfg);
             CpuTrainingKernels cpu = CpuTrainingKernels.of(model)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> forwardBackward(cpu, 
                    MemorySegment.ofArray(b[0]), MemorySegment.ofArray(b[1]), 6, MemorySegment.ofArray(new float[24]),
                    Codes.onHeap(6, 2), g));
            assertTrue(e.getMessage().contains("target row 3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cpu.forward(MemorySegment.ofArray(b[0]), 7,
                    MemorySegment.ofArray(new float[28]), Codes.onHeap(7, 2)), "x too short for 7 tokens");
            try (ParameterTensors other = ParameterTensors.zeros(MxdConfig.transcoder(5, 9, 4, 2, Activation.RELU, false))) {
                assertThrows(IllegalArgumentException.class, () -> forwardBackward(cpu, MemorySegment.ofArray(b[0]),
                        MemorySegment.ofArray(b[0]), 6, MemorySegment.ofArray(new float[24]), Codes.onHeap(6, 2), other));
            }
        }
    }
}
