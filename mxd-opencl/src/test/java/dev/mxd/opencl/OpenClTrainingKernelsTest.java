package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import dev.mxd.train.DecoderNorm;
import dev.mxd.train.ParameterTensors;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link OpenClTrainingKernels} against the float64 oracle ({@link OracleTrainingKernels}) on odd sizes with DESIGN
 * §6 tolerances, K = 1, K = N and T = 1 included; the parameter passes against their definitions
 * ({@link DecoderNorm}, {@link AdamW#update}) bit for bit; sparsity, run-to-run determinism, resume through
 * export/import, bad input and the release of every OpenCL object.
 */
class OpenClTrainingKernelsTest {
    private static final double RTOL = 1e-4, ATOL = 1e-5;
    private static OpenClBackend backend;

    @BeforeAll
    static void device() {
        backend = OpenClTestSupport.backend();
    }

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
             TrainingKernels cl = backend.kernels(model)) {
            for (boolean project : new boolean[] {false, true}) {
                float[] yRef = new float[tokens * cfg.outputDim()];
                float[] yCl = new float[tokens * cfg.outputDim()];
                Codes cRef = Codes.onHeap(tokens, cfg.k());
                Codes cCl = Codes.onHeap(tokens, cfg.k());
                oracle.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(yRef), cRef, project);
                oracle.gradients(g64);
                cl.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(yCl), cCl, project);
                cl.gradients(g32);
                for (int r = 0; r < tokens; r++) {
                    for (int j = 0; j < cfg.k(); j++) {
                        assertEquals(cRef.index(r, j), cCl.index(r, j), "code index [" + r + ", " + j + "]");
                        assertEquals(cRef.value(r, j), cCl.value(r, j), ATOL + RTOL * Math.abs(cRef.value(r, j)),
                                "code value [" + r + ", " + j + "]");
                    }
                }
                assertClose("y", yRef, yCl);
                for (String name : g64.names()) {
                    assertClose("d" + name + (project ? " projected" : ""), floats(g64, name), floats(g32, name));
                }
            }
        }
    }

    /** Only the experts (TC: hidden units) some token selected get gradient in their sparse rows. */
    @Test
    void unselectedExpertsGetExactlyZeroGradient() {
        MxdConfig cfg = MxdConfig.mxd(9, 16, 200, 7, 2, Activation.GELU, false, false);
        int tokens = 5;
        float[][] b = batch(cfg, tokens, 8);
        try (MxdModel model = MxdModel.random(cfg, 4);
             ParameterTensors grads = ParameterTensors.zeros(cfg);
             TrainingKernels cl = backend.kernels(model)) {
            Codes codes = Codes.onHeap(tokens, cfg.k());
            cl.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(new float[tokens * cfg.outputDim()]), codes, true);
            cl.gradients(grads);
            boolean[] selected = new boolean[cfg.experts()];
            for (int r = 0; r < tokens; r++) {
                for (int j = 0; j < cfg.k(); j++) {
                    selected[codes.index(r, j)] = true;
                }
            }
            float[] gateBias = floats(grads, "gate_bias");
            float[] gate = floats(grads, "gate");
            int nonZero = 0;
            for (int n = 0; n < cfg.experts(); n++) {
                boolean any = gateBias[n] != 0;
                for (int i = 0; i < cfg.inputDim(); i++) {
                    any |= gate[n * cfg.inputDim() + i] != 0;
                }
                if (any) {
                    nonZero++;
                    assertTrue(selected[n], "expert " + n + " got gradient but no token selected it");
                }
            }
            assertTrue(nonZero > 1, "too few experts got gradient to test anything");
        }
    }

    /**
     * Decoder-norm, the projection and AdamW on the device against the definitions on the model's layout, bit for
     * bit over three steps; the gradient before projection equals that of fresh kernels over the same parameters.
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
             TrainingKernels cl = backend.kernels(ours)) {
            for (int step = 1; step <= 3; step++) {
                cl.normaliseDecoder();
                DecoderNorm.normalise(theirs);
                cl.exportTo(ours, null, null);
                assertSameTensors(ours, theirs, "after decoder-norm, step " + step);
                Codes c = Codes.onHeap(tokens, cfg.k());
                float[] y = new float[tokens * cfg.outputDim()];
                try (TrainingKernels plain = backend.kernels(theirs)) {
                    plain.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(y), c, false);
                    plain.gradients(g2);
                }
                cl.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(y), c, true);
                cl.gradients(g1);
                DecoderNorm.removeParallelGradient(theirs, g2);
                for (String name : g1.names()) {
                    assertArrayEquals(floats(g2, name), floats(g1, name), name + " gradient, step " + step);
                }
                AdamW.Coefficients coefficients = adam.next(1e-2);
                cl.update(coefficients);
                AdamW.update(theirs, g2, m2, v2, coefficients);
                cl.exportTo(ours, m1, v1);
                assertSameTensors(ours, theirs, "after AdamW, step " + step);
                for (String name : g1.names()) {
                    assertArrayEquals(floats(m2, name), floats(m1, name), name + " m, step " + step);
                    assertArrayEquals(floats(v2, name), floats(v1, name), name + " v, step " + step);
                }
            }
        }
    }

    static Stream<MxdConfig> parameterPassConfigs() {
        return Stream.of(MxdConfig.mxd(21, 30, 137, 19, 4, Activation.GELU, true, true),
                MxdConfig.transcoder(21, 30, 19, 4, Activation.RELU, false));
    }

    /**
     * Two kernels over the same parameters give bit-identical steps, and kernels resumed from another's export
     * (parameters and moments) continue bit for bit as the original.
     */
    @Test
    void stepsAreReproducibleAndResumeBitForBit() {
        MxdConfig cfg = MxdConfig.mxd(17, 24, 61, 13, 5, Activation.SILU, true, true);
        int tokens = 33;
        try (MxdModel a = MxdModel.random(cfg, 6);
             MxdModel b = MxdModel.random(cfg, 6);
             ParameterTensors m = ParameterTensors.zeros(cfg);
             ParameterTensors v = ParameterTensors.zeros(cfg);
             TrainingKernels first = backend.kernels(a)) {
            AdamW adam = AdamW.reference();
            float[] y1 = new float[tokens * cfg.outputDim()];
            float[] y2 = new float[tokens * cfg.outputDim()];
            for (int step = 0; step < 2; step++) {
                step(first, cfg, tokens, step, adam.next(1e-2), y1);
            }
            first.exportTo(b, m, v);
            try (TrainingKernels resumed = backend.kernels(b)) {
                resumed.importFrom(b, m, v);
                AdamW.Coefficients c = adam.next(1e-2);
                step(first, cfg, tokens, 2, c, y1);
                step(resumed, cfg, tokens, 2, c, y2);
                assertArrayEquals(y1, y2, "outputs of the step after resume");
                first.exportTo(a, null, null);
                resumed.exportTo(b, null, null);
                assertSameTensors(a, b, "parameters after the resumed step");
            }
        }
    }

    private static void step(TrainingKernels kernels, MxdConfig cfg, int tokens, int seed, AdamW.Coefficients c,
                             float[] y) {
        float[][] b = batch(cfg, tokens, 100 + seed);
        kernels.normaliseDecoder();
        kernels.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(y), Codes.onHeap(tokens, cfg.k()), true);
        kernels.update(c);
    }

    @Test
    void badInputIsNamedAndEveryObjectIsReleased() {
        MxdConfig cfg = MxdConfig.transcoder(8, 12, 6, 3, Activation.RELU, true);
        int before = ClObjects.live();
        try (MxdModel model = MxdModel.random(cfg, 2)) {
            for (int cycle = 0; cycle < 3; cycle++) {
                try (TrainingKernels cl = backend.kernels(model)) {
                    float[][] b = batch(cfg, 7, 3);
                    b[1][3 * cfg.outputDim() + 2] = 0;
                    java.util.Arrays.fill(b[1], 3 * cfg.outputDim(), 4 * cfg.outputDim(), 0f);
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> cl.forwardBackward(seg(b[0]), seg(b[1]), 7, seg(new float[7 * cfg.outputDim()]),
                                    Codes.onHeap(7, cfg.k()), false));
                    assertTrue(e.getMessage().contains("target row 3"), e.getMessage());
                    assertThrows(IllegalArgumentException.class, () -> cl.forward(seg(b[0]), 8,
                            seg(new float[8 * cfg.outputDim()]), Codes.onHeap(8, cfg.k())));
                    assertTrue(ClObjects.live() > before, "the kernels' objects are counted");
                }
                assertEquals(before, ClObjects.live(), "live OpenCL objects after cycle " + cycle);
            }
            TrainingKernels closed = backend.kernels(model);
            closed.close();
            assertThrows(IllegalStateException.class, closed::normaliseDecoder);
        }
        assertEquals(before, ClObjects.live(), "live OpenCL objects at the end");
    }

    private static MemorySegment seg(float[] a) {
        return MemorySegment.ofArray(a);
    }

    private static float[] floats(ParameterTensors p, String name) {
        return p.tensor(name).data().toArray(Tensor.F32_LE);
    }

    private static void assertSameTensors(MxdModel expected, MxdModel actual, String when) {
        for (String name : expected.config().trainableTensorNames()) {
            assertArrayEquals(expected.tensor(name).data().toArray(Tensor.F32_LE),
                    actual.tensor(name).data().toArray(Tensor.F32_LE), name + " " + when);
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        double max = 0;
        for (float e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double tol = ATOL * max + RTOL * Math.abs(expected[i]);
            int at = i;
            assertEquals(expected[i], actual[i], tol, () -> what + "[" + at + "]");
        }
    }
}
