package dev.mxd.opencl;

import static dev.mxd.Activation.GELU;
import static dev.mxd.Activation.GELU_TANH;
import static dev.mxd.Activation.RELU;
import static dev.mxd.Activation.SIGMOID;
import static dev.mxd.Activation.SILU;
import static dev.mxd.opencl.OpenClParityTest.Variant.DEFAULT;
import static dev.mxd.opencl.OpenClParityTest.Variant.GLOBAL_LISTS;
import static dev.mxd.opencl.OpenClParityTest.Variant.OTHER_GEOMETRY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleMxd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The OpenCL layer against the float64 oracle (DESIGN §6) on configurations chosen to reach every kernel
 * path: sizes that are no multiple of any tile, K = 1 and K = N (or H), every activation, GLU and skip,
 * T = 1 and T ≥ 4099, one expert slice (codes written directly) and several (the merge kernel), TopK lists
 * in local and in global memory, and both tile geometries (so a CPU device also checks the GPU one).
 */
class OpenClParityTest {
    private OpenClBackend backend;

    @BeforeEach
    void requireDevice() {
        backend = OpenClTestSupport.backend();
    }

    /** How a case builds its layer. */
    enum Variant {
        /** {@link OpenClBackend#load}: what users get. */
        DEFAULT,
        /** TopK lists forced into global memory. */
        GLOBAL_LISTS,
        /** The tile geometry this device does not get by default (the GPU one on a CPU device and back). */
        OTHER_GEOMETRY
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // one token block, 2 slices of the 91 experts: the merge path
                Arguments.of("MxD relu, odd sizes", MxdConfig.mxd(37, 53, 91, 29, 5, RELU, false, false), 7, DEFAULT),
                Arguments.of("MxD gelu + GLU + skip", MxdConfig.mxd(33, 70, 130, 41, 8, GELU, true, true), 67, DEFAULT),
                Arguments.of("MxD gelu + GLU + skip", MxdConfig.mxd(33, 70, 130, 41, 8, GELU, true, true), 67, GLOBAL_LISTS),
                Arguments.of("MxD gelu + GLU + skip", MxdConfig.mxd(33, 70, 130, 41, 8, GELU, true, true), 67, OTHER_GEOMETRY),
                Arguments.of("MxD K=1, T=1", MxdConfig.mxd(16, 24, 50, 12, 1, GELU_TANH, false, true), 1, DEFAULT),
                Arguments.of("MxD K=N", MxdConfig.mxd(20, 16, 40, 18, 40, SIGMOID, true, false), 5, DEFAULT),
                // 16 slices of 64 experts for 3 tokens: a 16-wide merge
                Arguments.of("MxD N=1000, 16 slices", MxdConfig.mxd(24, 32, 1000, 20, 16, RELU, false, false), 3, DEFAULT),
                // 65 token blocks: one slice, codes written by partial_topk directly
                Arguments.of("MxD T=4099", MxdConfig.mxd(8, 12, 70, 9, 3, SILU, false, true), 4099, DEFAULT),
                Arguments.of("MxD T=4099", MxdConfig.mxd(8, 12, 70, 9, 3, SILU, false, true), 4099, OTHER_GEOMETRY),
                Arguments.of("TC gelu (negative codes)", MxdConfig.transcoder(29, 150, 31, 7, GELU, false), 19, DEFAULT),
                Arguments.of("TC K=1, T=1, GLU", MxdConfig.transcoder(10, 20, 10, 1, RELU, true), 1, DEFAULT),
                Arguments.of("TC K=H", MxdConfig.transcoder(12, 24, 8, 24, SILU, false), 9, DEFAULT),
                Arguments.of("TC K=H", MxdConfig.transcoder(12, 24, 8, 24, SILU, false), 9, GLOBAL_LISTS),
                Arguments.of("STC gelu + GLU, T=4099", MxdConfig.skipTranscoder(17, 66, 23, 9, GELU, true), 4099, DEFAULT),
                Arguments.of("STC sigmoid", MxdConfig.skipTranscoder(16, 40, 16, 4, SIGMOID, false), 2, DEFAULT));
    }

    private MxdLayer load(MxdModel model, Variant variant) {
        ClDevice device = backend.device();
        KernelGeometry standard = KernelGeometry.forDevice(device);
        return switch (variant) {
            case DEFAULT -> backend.load(model);
            case GLOBAL_LISTS -> new OpenClLayer(model, device, standard, 0);
            case OTHER_GEOMETRY -> new OpenClLayer(model, device,
                    standard == KernelGeometry.WIDE ? KernelGeometry.FAT : KernelGeometry.WIDE, device.localMemBytes());
        };
    }

    @ParameterizedTest(name = "{0}, T={2}, {3}")
    @MethodSource("cases")
    void forwardEncodeDecodeMatchTheOracle(String name, MxdConfig config, int tokens, Variant variant) {
        try (MxdModel model = MxdModel.random(config, 0x5EEDL + tokens); MxdLayer layer = load(model, variant)) {
            assertEquals(variant != GLOBAL_LISTS, ((OpenClLayer) layer).topkListsLocal(), "TopK lists in local memory");
            OracleMxd oracle = new OracleMxd(model);
            float[] x = Oracle.inputs(tokens, config.inputDim(), 42 + tokens);

            MxdLayer.Output fused = layer.forward(x);
            Oracle.assertCodes(name + " codes", oracle, x, tokens, fused.codes());
            double[] expected = oracle.decode(x, tokens, OracleMxd.Codes64.of(fused.codes()));
            Oracle.assertClose(name + " y", expected, fused.y(), config.outputDim());

            // the two steps give the fused result bit for bit
            Codes codes = layer.encode(x);
            assertArrayEquals(indices(fused.codes()), indices(codes), name + ": encode indices vs forward");
            assertArrayEquals(values(fused.codes()), values(codes), name + ": encode values vs forward");
            assertArrayEquals(fused.y(), layer.decode(x, codes), name + ": decode(encode) vs forward");
        }
    }

    /** The cases with few tokens and local lists: decode depends on neither T nor the list placement. */
    static Stream<Arguments> decodeCases() {
        return cases().filter(a -> (int) a.get()[2] <= 100 && a.get()[3] == DEFAULT);
    }

    @ParameterizedTest(name = "{0}, T={2}")
    @MethodSource("decodeCases")
    void decodeTakesCallerCodesOfAnyWidth(String name, MxdConfig config, int tokens, Variant variant) {
        try (MxdModel model = MxdModel.random(config, 7); MxdLayer layer = backend.load(model);
             Arena arena = Arena.ofConfined()) {
            OracleMxd oracle = new OracleMxd(model);
            float[] x = Oracle.inputs(tokens, config.inputDim(), 99);
            int space = config.codeSpace();
            for (int width : new int[] {0, 1, config.k() + 3}) {
                // native code tables and native x/y this time, steering-like codes: a repeated index, an
                // index outside any top K with a large value, zero padding
                Codes codes = Codes.allocate(arena, tokens, width);
                for (int t = 0; t < tokens; t++) {
                    for (int j = 0; j < width; j++) {
                        int idx = j == 1 ? (t * 7) % space : (t * 31 + j * 17) % space;
                        float v = j == 2 ? 100f : j == width - 1 ? 0f : (float) (0.25 * (j + 1) - 0.1 * t);
                        codes.set(t, j, idx, v);
                    }
                }
                MemorySegment xs = arena.allocate((long) x.length * Float.BYTES, 64);
                MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, x.length);
                MemorySegment ys = arena.allocate((long) tokens * config.outputDim() * Float.BYTES, 64);
                layer.decode(xs, tokens, codes, ys);
                Oracle.assertClose(name + " decode width " + width, oracle.decode(x, tokens, OracleMxd.Codes64.of(codes)),
                        ys.toArray(ValueLayout.JAVA_FLOAT), config.outputDim());
            }
        }
    }

    private static int[] indices(Codes c) {
        return c.indexSegment().toArray(ValueLayout.JAVA_INT);
    }

    private static float[] values(Codes c) {
        return c.valueSegment().toArray(ValueLayout.JAVA_FLOAT);
    }
}
