package dev.mxd.checkpoint.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleMxd;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Reference checkpoints written by PyTorch load with their exact weights and reproduce PyTorch's forward pass. */
class TorchCheckpointLoadTest {

    /** The fixtures of make_pt_fixtures.py and the configs the script gave them. */
    static Stream<Arguments> fixtures() {
        return Stream.of(
                Arguments.of("mxd_relu", new MxdConfig(Kind.MXD, 7, 11, 7, 13, 3, Activation.RELU, false, false, null)),
                Arguments.of("mxd_glu_skip_gelu",
                        new MxdConfig(Kind.MXD, 9, 10, 9, 17, 4, Activation.GELU, true, true, null)),
                Arguments.of("mxd_glu_sigmoid_dout",
                        new MxdConfig(Kind.MXD, 6, 13, 5, 11, 2, Activation.SIGMOID, true, false, null)),
                Arguments.of("tc_gelu_tanh_proto4",
                        new MxdConfig(Kind.TC, 8, 15, 8, 0, 5, Activation.GELU_TANH, false, false, null)),
                Arguments.of("stc_glu_gelu", new MxdConfig(Kind.STC, 7, 12, 7, 0, 3, Activation.GELU, true, true, null)),
                Arguments.of("mxd_mixed_dtypes",
                        new MxdConfig(Kind.MXD, 5, 9, 5, 7, 2, Activation.RELU, false, false, null)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void configMapsFromThePickledDataclass(String name, MxdConfig expected) throws IOException {
        try (MxdModel model = TorchCheckpoint.load(Fixtures.pt(name))) {
            MxdConfig c = model.config();
            assertEquals(expected.kind(), c.kind());
            assertEquals(expected.inputDim(), c.inputDim(), "d_in");
            assertEquals(expected.hiddenDim(), c.hiddenDim(), "d_sae");
            assertEquals(expected.outputDim(), c.outputDim(), "d_out");
            assertEquals(expected.experts(), c.experts(), "n_experts");
            assertEquals(expected.k(), c.k(), "topk");
            assertEquals(expected.activation(), c.activation());
            assertEquals(expected.glu(), c.glu(), "use_glu");
            assertEquals(expected.skip(), c.skip(), "use_skip");
            // Training fields and the reference's bookkeeping travel along as plain values.
            Map<String, Object> other = c.otherFields();
            assertEquals(1e-4, other.get("lr"));
            assertEquals("constantwithwarmup", other.get("lr_scheduler_name"));
            assertEquals(4096L, other.get("train_batch_size"));
            assertEquals("torch.float32", other.get("dtype"));
            assertEquals(List.of(false), other.get("use_ghost_grads"), "the reference's one-element tuple");
            assertEquals(c.kind() == Kind.MXD, other.get("norm_dec"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void weightsLoadBitExactly(String name, MxdConfig ignored) throws IOException {
        Map<String, Fixtures.Entry> expected = Fixtures.expected(name);
        try (MxdModel model = TorchCheckpoint.load(Fixtures.pt(name))) {
            Set<String> expectedNames = new LinkedHashSet<>();
            expected.keySet().stream().filter(k -> k.startsWith("weights/"))
                    .forEach(k -> expectedNames.add(k.substring("weights/".length())));
            assertEquals(expectedNames, model.tensors().keySet(), "every state-dict tensor, b_dec and extras included");
            for (String key : expectedNames) {
                Fixtures.Entry want = expected.get("weights/" + key);
                Tensor got = model.tensor(key);
                assertEquals(DType.F32, got.dtype());
                assertArrayEquals(want.shape(), got.shape(), key);
                float[] values = want.floats();
                for (int i = 0; i < values.length; i++) {
                    float v = got.data().getAtIndex(Tensor.F32_LE, i);
                    if (Float.floatToRawIntBits(v) != Float.floatToRawIntBits(values[i])) {
                        throw new AssertionError(name + ": " + key + "[" + i + "] = " + v + ", torch has " + values[i]);
                    }
                }
            }
        }
    }

    /** DESIGN §6: |y − y64| ≤ atol + rtol·|y64|, rtol = 1e-4, atol = 1e-5 · max|y64|. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void forwardMatchesPyTorch(String name, MxdConfig ignored) throws IOException {
        Map<String, Fixtures.Entry> expected = Fixtures.expected(name);
        float[] x = expected.get("x").floats();
        double[] y64 = expected.get("y").doubles();
        int tokens = (int) expected.get("x").shape()[0];
        int outDim = (int) expected.get("y").shape()[1];
        try (MxdModel model = TorchCheckpoint.load(Fixtures.pt(name))) {
            assertEquals(model.config().outputDim(), outDim);
            double[] y = new OracleMxd(model).forward(x, tokens).y();
            assertEquals(y64.length, y.length);
            double max = 0;
            for (double v : y64) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 0, "a fixture whose output is all zero tests nothing");
            double atol = 1e-5 * max;
            for (int i = 0; i < y.length; i++) {
                double err = Math.abs(y[i] - y64[i]);
                if (!(err <= atol + 1e-4 * Math.abs(y64[i]))) {
                    throw new AssertionError(name + ": y[" + i / outDim + ", " + i % outDim + "] = " + y[i]
                            + ", PyTorch gives " + y64[i] + " (error " + err + ")");
                }
            }
        }
    }
}
