package dev.mxd.train;

import static dev.mxd.train.TrainingTestData.batch;
import static dev.mxd.train.TrainingTestData.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One backend's {@link TrainingKernels} against their contract; each training backend's test extends this class
 * and names its backend. It checks:
 * <ul>
 *   <li>outputs, codes and every gradient tensor, with and without the decoder-gradient projection, against the
 *       float64 oracle ({@link OracleTrainingKernels}) with the tolerances of DESIGN §6, on odd sizes, every
 *       activation, K = 1, K = N (TC: K = H), T = 1 and H and O wider than a 256-column GEMM tile;</li>
 *   <li>the gradient rows of experts no token selected are exactly zero, stale values in the gradient tensors
 *       overwritten;</li>
 *   <li>decoder-norm, the projection and AdamW against their definitions ({@link DecoderNorm},
 *       {@link AdamW#update}) on the model's layout, bit for bit over three steps, and the update the same whether
 *       the gradient was asked for before it or not;</li>
 *   <li>determinism: a call after larger and smaller batches gives the first call's bits, and kernels resumed
 *       from another's export continue bit for bit;</li>
 *   <li>the training forward pass is the backend's inference layer;</li>
 *   <li>bad input is refused naming the row, and closed kernels refuse calls.</li>
 * </ul>
 * The oracle's kernels are what these are checked against (they call the definitions), so it has no such test.
 */
public abstract class TrainingKernelsContract {
    private static final double RTOL = 1e-4, ATOL = 1e-5;

    /** The backend whose kernels are checked; it trains ({@link Backend#trains()}). */
    protected abstract Backend backend();

    /** Kernels of {@link #backend()} over {@code model}. */
    protected final TrainingKernels kernels(MxdModel model) {
        return TrainingBackends.kernels(backend(), model);
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
        // H and O wider than one 256-column GEMM tile: every column tile lands in its own columns
        v.add(Arguments.of(MxdConfig.mxd(20, 300, 40, 270, 5, Activation.GELU, false, false), 30));
        v.add(Arguments.of(MxdConfig.transcoder(i, h, o, 1, Activation.GELU, true), 19));
        v.add(Arguments.of(MxdConfig.skipTranscoder(i, h, o, 6, Activation.SIGMOID, true), 23));
        v.add(Arguments.of(MxdConfig.skipTranscoder(i, h, o, h, Activation.RELU, false), 9));
        return v.stream();
    }

    @ParameterizedTest
    @MethodSource("variants")
    void gradientsMatchTheOracle(MxdConfig cfg, int tokens) {
        float[][] b = batch(cfg, tokens, cfg.hashCode());
        try (MxdModel model = MxdModel.random(cfg, 3);
             ParameterTensors g64 = ParameterTensors.zeros(cfg);
             ParameterTensors g32 = ParameterTensors.zeros(cfg);
             OracleTrainingKernels oracle = new OracleTrainingKernels(model);
             TrainingKernels kernels = kernels(model)) {
            for (boolean project : new boolean[] {false, true}) {
                String when = project ? " projected" : "";
                float[] yRef = new float[tokens * cfg.outputDim()];
                float[] y = new float[tokens * cfg.outputDim()];
                Codes cRef = Codes.onHeap(tokens, cfg.k());
                Codes c = Codes.onHeap(tokens, cfg.k());
                forwardBackward(oracle, b, tokens, yRef, cRef, g64, project);
                forwardBackward(kernels, b, tokens, y, c, g32, project);
                for (int r = 0; r < tokens; r++) {
                    for (int j = 0; j < cfg.k(); j++) {
                        int row = r, slot = j;
                        assertEquals(cRef.index(r, j), c.index(r, j), () -> "code index [" + row + ", " + slot + "]"
                                + when + ": " + cRef.value(row, slot) + " vs " + c.value(row, slot)
                                + (slot + 1 < cfg.k() ? ", next " + cRef.index(row, slot + 1) + "/"
                                + cRef.value(row, slot + 1) : ""));
                        assertEquals(cRef.value(r, j), c.value(r, j), ATOL + RTOL * Math.abs(cRef.value(r, j)),
                                () -> "code value [" + row + ", " + slot + "]" + when);
                    }
                }
                assertClose("y" + when, yRef, y, false);
                for (String name : g64.names()) {
                    // W_dec and W_skip can get no gradient at all in a batch, every other tensor does
                    assertClose("d" + name + when, floats(g64, name), floats(g32, name),
                            name.equals("W_dec") || name.startsWith("W_skip"));
                }
            }
        }
    }

    /** A case of {@link #expertGradientsAreSparse}: the gradient tensors are filled with stale values first. */
    record SparseCase(MxdConfig cfg, int tokens, long batchSeed, long modelSeed, boolean project) {
    }

    static Stream<SparseCase> sparseCases() {
        return Stream.of(
                new SparseCase(MxdConfig.mxd(9, 12, 50, 7, 2, Activation.GELU, false, false), 17, 4, 5, false),
                new SparseCase(MxdConfig.mxd(9, 12, 5000, 7, 2, Activation.GELU, false, false), 17, 4, 5, false),
                new SparseCase(MxdConfig.mxd(9, 16, 200, 7, 2, Activation.GELU, false, false), 5, 8, 4, true));
    }

    /**
     * Gradient rows (gate, gate bias, W_cond column) of experts no token selected with a non-zero code are exactly
     * zero, and every expert selected so gets gradient: the kernels overwrite the gradient tensors, never
     * accumulate into them.
     */
    @ParameterizedTest
    @MethodSource("sparseCases")
    void expertGradientsAreSparse(SparseCase c) {
        MxdConfig cfg = c.cfg();
        int in = cfg.inputDim(), out = cfg.outputDim(), experts = cfg.experts();
        float[][] b = batch(cfg, c.tokens(), c.batchSeed());
        try (MxdModel model = MxdModel.random(cfg, c.modelSeed());
             ParameterTensors g = ParameterTensors.zeros(cfg);
             TrainingKernels kernels = kernels(model)) {
            for (Tensor t : g.tensors().values()) {
                t.data().fill((byte) 0x3f);
            }
            Codes codes = Codes.onHeap(c.tokens(), cfg.k());
            forwardBackward(kernels, b, c.tokens(), new float[c.tokens() * out], codes, g, c.project());
            Set<Integer> selected = new HashSet<>();
            for (int r = 0; r < c.tokens(); r++) {
                for (int j = 0; j < cfg.k(); j++) {
                    if (codes.value(r, j) != 0f) {
                        selected.add(codes.index(r, j));
                    }
                }
            }
            assertTrue(selected.size() > 1, "too few experts fired to test anything");
            float[] gate = floats(g, "gate");
            float[] bias = floats(g, "gate_bias");
            float[] cond = floats(g, "W_cond");
            int touched = 0;
            for (int n = 0; n < experts; n++) {
                boolean any = bias[n] != 0f;
                for (int i = 0; i < in; i++) {
                    any |= gate[n * in + i] != 0f;
                }
                for (int o = 0; o < out; o++) {
                    any |= cond[o * experts + n] != 0f;
                }
                if (any) {
                    touched++;
                    assertTrue(selected.contains(n), "expert " + n + " got gradient but no token selected it");
                }
            }
            assertEquals(selected.size(), touched, "every selected expert gets gradient");
        }
    }

    static Stream<MxdConfig> determinismConfigs() {
        return Stream.of(MxdConfig.mxd(21, 30, 77, 19, 4, Activation.GELU, true, true),
                MxdConfig.transcoder(21, 30, 19, 4, Activation.GELU, true),
                MxdConfig.skipTranscoder(21, 30, 19, 3, Activation.RELU, false));
    }

    /**
     * The kernels may keep their work arrays from call to call: a call after a larger and a smaller batch, into
     * gradient tensors full of NaN, gives bit for bit what the first call gave into zeroed ones; the forward pass
     * alone gives the forward of forward-and-backward.
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
             TrainingKernels kernels = kernels(model)) {
            float[] y1 = new float[tokens * o];
            float[] y2 = new float[tokens * o];
            forwardBackward(kernels, b, tokens, y1, Codes.onHeap(tokens, cfg.k()), g1, false);
            for (float[][] other : List.of(big, small)) {
                int n = other[0].length / cfg.inputDim();
                forwardBackward(kernels, other, n, new float[n * o], Codes.onHeap(n, cfg.k()), g2, false);
            }
            for (String name : g2.names()) {
                g2.tensor(name).data().fill((byte) 0xFF);   // NaN in every element
            }
            forwardBackward(kernels, b, tokens, y2, Codes.onHeap(tokens, cfg.k()), g2, false);
            assertArrayEquals(y1, y2);
            for (String name : g1.names()) {
                assertArrayEquals(floats(g1, name), floats(g2, name), name);
            }
            float[] y3 = new float[tokens * o];
            kernels.forward(seg(b[0]), tokens, seg(y3), Codes.onHeap(tokens, cfg.k()));
            assertArrayEquals(y1, y3, "forward alone against the forward of forwardBackward");
        }
    }

    static Stream<MxdConfig> parameterPassConfigs() {
        return Stream.of(MxdConfig.mxd(21, 30, 1137, 19, 4, Activation.GELU, true, true),
                MxdConfig.mxd(21, 30, 137, 19, 4, Activation.GELU, true, true),
                MxdConfig.transcoder(21, 30, 19, 4, Activation.RELU, false));
    }

    /**
     * Decoder-norm, the decoder-gradient projection fused into the backward pass, and AdamW, in the kernels' own
     * layout, against the backend-neutral definitions ({@link DecoderNorm}, {@link AdamW#update}) on the model's
     * layout, bit for bit over three steps; without the projection, the gradient is that of fresh kernels over the
     * same parameters.
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
             TrainingKernels kernels = kernels(ours)) {
            for (int step = 1; step <= 3; step++) {
                kernels.normaliseDecoder();
                DecoderNorm.normalise(theirs);
                kernels.exportTo(ours, null, null);
                assertSameTensors(ours, theirs, "after decoder-norm, step " + step);
                Codes c = Codes.onHeap(tokens, cfg.k());
                float[] y = new float[tokens * cfg.outputDim()];
                try (TrainingKernels plain = kernels(theirs)) {
                    forwardBackward(plain, b, tokens, y, c, g2, false);
                }
                if (step == 2) {
                    forwardBackward(kernels, b, tokens, y, c, g1, false);
                    for (String name : g1.names()) {
                        assertArrayEquals(floats(g2, name), floats(g1, name), name + " unprojected gradient");
                    }
                }
                forwardBackward(kernels, b, tokens, y, c, g1, true);
                DecoderNorm.removeParallelGradient(theirs, g2);
                for (String name : g1.names()) {
                    assertArrayEquals(floats(g2, name), floats(g1, name), name + " gradient, step " + step);
                }
                AdamW.Coefficients coefficients = adam.next(1e-2);
                kernels.update(coefficients);
                AdamW.update(theirs, g2, m2, v2, coefficients);
                kernels.exportTo(ours, m1, v1);
                assertSameTensors(ours, theirs, "after AdamW, step " + step);
                for (String name : g1.names()) {
                    assertArrayEquals(floats(m2, name), floats(m1, name), name + " m, step " + step);
                    assertArrayEquals(floats(v2, name), floats(v1, name), name + " v, step " + step);
                }
            }
        }
    }

    static Stream<Arguments> updateConfigs() {
        return Stream.of(Arguments.of(MxdConfig.mxd(21, 30, 1137, 19, 4, Activation.GELU, true, true), 97),
                Arguments.of(MxdConfig.mxd(13, 37, 29, 11, 29, Activation.SILU, false, false), 1),
                Arguments.of(MxdConfig.mxd(13, 37, 300, 11, 1, Activation.RELU, false, true), 41),
                Arguments.of(MxdConfig.transcoder(21, 30, 19, 4, Activation.RELU, false), 33));
    }

    /**
     * A step's update gives the same parameters and moments, bit for bit, whether the gradient was asked for
     * before it or not, and whether a forward pass alone ran in between (another batch, which a backend may run
     * in the workspace the step's gradient came from): the update applies the gradient of its step, whatever was
     * asked after it. Three steps with decoder-norm and the projection; odd sizes, K = N with T = 1, K = 1.
     */
    @ParameterizedTest
    @MethodSource("updateConfigs")
    void updateIsTheSameWhateverIsAskedBeforeIt(MxdConfig cfg, int tokens) {
        int o = cfg.outputDim();
        AdamW adam = AdamW.reference();
        List<MxdModel> models = new ArrayList<>();
        List<TrainingKernels> kernels = new ArrayList<>();
        try (ParameterTensors g = ParameterTensors.zeros(cfg)) {
            for (int variant = 0; variant < 3; variant++) {
                models.add(MxdModel.random(cfg, 31));
                kernels.add(kernels(models.get(variant)));
            }
            for (int step = 1; step <= 3; step++) {
                float[][] b = batch(cfg, tokens, 40 + step);
                float[][] other = batch(cfg, tokens + 5, 60 + step);
                AdamW.Coefficients c = adam.next(1e-2);
                for (int variant = 0; variant < 3; variant++) {
                    TrainingKernels k = kernels.get(variant);
                    k.normaliseDecoder();
                    k.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(new float[tokens * o]),
                            Codes.onHeap(tokens, cfg.k()), true);
                    if (variant == 1) {
                        k.gradients(g);
                    } else if (variant == 2) {
                        k.forward(seg(other[0]), tokens + 5, seg(new float[(tokens + 5) * o]),
                                Codes.onHeap(tokens + 5, cfg.k()));
                    }
                    k.update(c);
                }
            }
            ParameterTensors[] moments = new ParameterTensors[6];
            try {
                for (int variant = 0; variant < 3; variant++) {
                    moments[2 * variant] = ParameterTensors.zeros(cfg);
                    moments[2 * variant + 1] = ParameterTensors.zeros(cfg);
                    kernels.get(variant).exportTo(models.get(variant), moments[2 * variant], moments[2 * variant + 1]);
                }
                for (int variant = 1; variant < 3; variant++) {
                    String how = variant == 1 ? "with the gradient asked for" : "with a forward pass in between";
                    assertSameTensors(models.get(0), models.get(variant), how);
                    for (String name : moments[0].names()) {
                        assertArrayEquals(floats(moments[0], name), floats(moments[2 * variant], name),
                                name + " m " + how);
                        assertArrayEquals(floats(moments[1], name), floats(moments[2 * variant + 1], name),
                                name + " v " + how);
                    }
                }
            } finally {
                for (ParameterTensors t : moments) {
                    if (t != null) {
                        t.close();
                    }
                }
            }
        } finally {
            kernels.forEach(TrainingKernels::close);
            models.forEach(MxdModel::close);
        }
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
             TrainingKernels first = kernels(a)) {
            AdamW adam = AdamW.reference();
            float[] y1 = new float[tokens * cfg.outputDim()];
            float[] y2 = new float[tokens * cfg.outputDim()];
            for (int step = 0; step < 2; step++) {
                step(first, tokens, step, adam.next(1e-2), y1);
            }
            first.exportTo(b, m, v);
            try (TrainingKernels resumed = kernels(b)) {
                resumed.importFrom(b, m, v);
                AdamW.Coefficients c = adam.next(1e-2);
                step(first, tokens, 2, c, y1);
                step(resumed, tokens, 2, c, y2);
                assertArrayEquals(y1, y2, "outputs of the step after resume");
                first.exportTo(a, null, null);
                resumed.exportTo(b, null, null);
                assertSameTensors(a, b, "parameters after the resumed step");
            }
        }
    }

    private static void step(TrainingKernels kernels, int tokens, int seed, AdamW.Coefficients c, float[] y) {
        MxdConfig cfg = kernels.config();
        float[][] b = batch(cfg, tokens, 100 + seed);
        kernels.normaliseDecoder();
        kernels.forwardBackward(seg(b[0]), seg(b[1]), tokens, seg(y), Codes.onHeap(tokens, cfg.k()), true);
        kernels.update(c);
    }

    /**
     * The training forward pass is the inference layer's: the same codes and outputs, including with many expert
     * tiles and more tokens than one row block.
     */
    @Test
    void forwardMatchesTheInferenceLayer() {
        for (MxdConfig cfg : List.of(MxdConfig.mxd(21, 30, 77, 19, 4, Activation.GELU, true, true),
                MxdConfig.mxd(21, 30, 1137, 19, 7, Activation.RELU, false, false),
                MxdConfig.skipTranscoder(21, 30, 19, 5, Activation.RELU, true))) {
            int tokens = cfg.experts() > 1000 ? 301 : 61;
            float[] x = batch(cfg, tokens, 1)[0];
            try (MxdModel model = MxdModel.random(cfg, 2);
                 TrainingKernels kernels = kernels(model);
                 MxdLayer layer = backend().load(model)) {
                float[] y1 = new float[tokens * cfg.outputDim()];
                float[] y2 = new float[tokens * cfg.outputDim()];
                Codes c1 = Codes.onHeap(tokens, cfg.k());
                Codes c2 = Codes.onHeap(tokens, cfg.k());
                kernels.forward(seg(x), tokens, seg(y1), c1);
                layer.forward(seg(x), tokens, seg(y2), c2);
                assertArrayEquals(c2.indexSegment().toArray(ValueLayout.JAVA_INT),
                        c1.indexSegment().toArray(ValueLayout.JAVA_INT), cfg.kind() + " code indices");
                assertClose(cfg.kind() + " y", y2, y1, false);
            }
        }
    }

    static Stream<Arguments> badInputCases() {
        return Stream.of(Arguments.of(MxdConfig.transcoder(5, 8, 4, 2, Activation.RELU, false), 6, 1L),
                Arguments.of(MxdConfig.transcoder(8, 12, 6, 3, Activation.RELU, true), 7, 3L));
    }

    @ParameterizedTest
    @MethodSource("badInputCases")
    void badInputIsNamedAndClosedKernelsRefuseCalls(MxdConfig cfg, int tokens, long seed) {
        try (MxdModel model = MxdModel.random(cfg, 2)) {
            try (TrainingKernels kernels = kernels(model)) {
                assertBadInputIsRefused(kernels, tokens, seed);
            }
            TrainingKernels closed = kernels(model);
            closed.close();
            assertThrows(IllegalStateException.class, closed::normaliseDecoder);
        }
    }

    /**
     * A batch of {@code tokens} whose target row 3 is zero is refused naming that row; inputs shorter than the
     * tokens asked for, and gradient tensors of another config, are refused.
     */
    protected static void assertBadInputIsRefused(TrainingKernels kernels, int tokens, long seed) {
        MxdConfig cfg = kernels.config();
        int o = cfg.outputDim();
        float[][] b = batch(cfg, tokens, seed);
        Arrays.fill(b[1], 3 * o, 4 * o, 0f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernels.forwardBackward(
                seg(b[0]), seg(b[1]), tokens, seg(new float[tokens * o]), Codes.onHeap(tokens, cfg.k()), false));
        assertTrue(e.getMessage().contains("target row 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> kernels.forward(seg(b[0]), tokens + 1,
                seg(new float[(tokens + 1) * o]), Codes.onHeap(tokens + 1, cfg.k())), "x too short for the tokens");
        MxdConfig wider = new MxdConfig(cfg.kind(), cfg.inputDim(), cfg.hiddenDim() + 1, o, cfg.experts(), cfg.k(),
                cfg.activation(), cfg.glu(), cfg.skip(), Map.of());
        try (ParameterTensors other = ParameterTensors.zeros(wider)) {
            assertThrows(IllegalArgumentException.class, () -> forwardBackward(kernels, new float[][] {b[0], b[0]},
                    tokens, new float[tokens * o], Codes.onHeap(tokens, cfg.k()), other, false));
        }
    }

    /** The step's forward and backward of batch {x, t}, then its gradient in the checkpoint layout into {@code grads}. */
    protected static void forwardBackward(TrainingKernels kernels, float[][] batch, int tokens, float[] y, Codes codes,
                                          ParameterTensors grads, boolean project) {
        kernels.forwardBackward(seg(batch[0]), seg(batch[1]), tokens, seg(y), codes, project);
        kernels.gradients(grads);
    }

    private static MemorySegment seg(float[] a) {
        return MemorySegment.ofArray(a);
    }

    private static void assertSameTensors(MxdModel expected, MxdModel actual, String when) {
        for (String name : expected.tensors().keySet()) {
            assertArrayEquals(expected.tensor(name).data().toArray(Tensor.F32_LE),
                    actual.tensor(name).data().toArray(Tensor.F32_LE), name + " " + when);
        }
    }

    /** DESIGN §6: {@code |a − e| ≤ 1e-5·max|e| + 1e-4·|e|} element by element. */
    private static void assertClose(String what, float[] expected, float[] actual, boolean mayBeZero) {
        double max = 0;
        for (float e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        assertTrue(max > 0 || mayBeZero, what + " is all zero in the oracle");
        for (int i = 0; i < expected.length; i++) {
            double tol = ATOL * max + RTOL * Math.abs(expected[i]);
            int at = i;
            assertEquals(expected[i], actual[i], tol, () -> what + "[" + at + "]");
        }
    }
}
